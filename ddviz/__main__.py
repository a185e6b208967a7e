from ddviz.cli import main

raise SystemExit(main())
