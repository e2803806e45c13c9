"""Entry point of ``python -m crm_core``."""

from crm_core.cli import main

if __name__ == "__main__":
    main()
