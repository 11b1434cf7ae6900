"""A command that ends the way a test asks: ``sys.exit(CODE)`` or ``CommandError`` (like ``migrate --check``)."""

import sys

from django.core.management import BaseCommand, CommandError


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("code", type=int)
        parser.add_argument("--error", action="store_true", help="Raise CommandError instead of sys.exit().")

    def handle(self, *args, code, error, **options):
        if error:
            raise CommandError("the command failed on purpose", returncode=code)
        sys.exit(code)
