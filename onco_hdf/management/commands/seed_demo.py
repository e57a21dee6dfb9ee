from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from onco_hdf import governance
from onco_hdf.hooks import app_modules


class Command(BaseCommand):
    help = "Create or refresh the demo data of every app (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even with DEBUG off (demo accounts have a public password).",
        )

    def handle(self, *args, allow_production=False, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "Refusing to seed demo accounts with DEBUG off; pass --allow-production."
            )
        with governance.gates_suspended():
            for module in app_modules("demo"):
                self.stdout.write(f"{module.__name__}:")
                module.seed(stdout=self.stdout)
            # Hooks that need every app's demo data (the COPIL decisions on them).
            for module in app_modules("demo"):
                if hasattr(module, "seed_after"):
                    module.seed_after(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
