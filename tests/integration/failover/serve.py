"""``python -m tests.integration.failover.serve server --name N``: orch with the test pack."""

from __future__ import annotations

from tests.integration.failover.pack import install

if __name__ == "__main__":
    install()
    from orch.cli.main import main

    main()
