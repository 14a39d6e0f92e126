import sys

from data.render.cli import main

sys.exit(main())
