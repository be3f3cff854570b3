from paperspace_deploy.cli import main

raise SystemExit(main())
