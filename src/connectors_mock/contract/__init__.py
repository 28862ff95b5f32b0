"""The contract suite: schemathesis and hypothesis tests that judge any server against
`openapi.yaml`.

    pytest --pyargs connectors_mock.contract --base-url URL --api-key KEY [--api-key-b KEY2]
    connectors-mock verify URL --api-key KEY

Without `--base-url` it judges the fake, started in-process. The pytest plugin
(`connectors_mock.contract.plugin`) adds the options and fixtures; `test_*.py` here are the tests.
"""
