"""``python -m accord``: the same as the ``accord`` command."""

from accord.cli.main import run

if __name__ == "__main__":
    run()
