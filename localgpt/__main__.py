import sys

from localgpt.cli import main

sys.exit(main())
