from decide.cli import main

raise SystemExit(main())
