"""`connectors-mock proxy`: a reverse proxy in front of a Connectors API server (staging, or the
fake) that forwards every request unchanged and judges each exchange against `openapi.yaml`.

- `violations.py`: what a broken contract looks like here, kept in a bounded list and logged;
- `judge.py`: the request and the answer against the spec, the contract suite's own checks
  (`contract/checks.py`), and the invariants only a stateful observer knows (`memory.py`);
- `recorder.py`: what the upstream returned, as a fixtures file (`--record`);
- `app.py`: the ASGI app that forwards with httpx and serves `GET /_mock/violations`.
"""
