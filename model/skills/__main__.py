import sys

from model.skills.cli import main

sys.exit(main())
