from connectors_mock.cli import main

raise SystemExit(main())
