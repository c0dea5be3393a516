import sys

from asbuilt.cli import main

sys.exit(main())
