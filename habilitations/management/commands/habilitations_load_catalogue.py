from django.core.management.base import BaseCommand

from habilitations.catalogue_data import CATALOGUES
from habilitations.services import catalogue_load


class Command(BaseCommand):
    help = "Load the regional activity catalogue (idempotent; published versions are kept)."

    def add_arguments(self, parser):
        parser.add_argument("--draft", action="store_true", help="Load as a draft, unpublished.")

    def handle(self, *args, draft=False, **options):
        for data in CATALOGUES:
            version = catalogue_load(data=data, publish=not draft)
            self.stdout.write(
                f"v{version.number} ({version.get_status_display()}): "
                f"{version.domains.count()} domains, {version.activities.count()} activities"
            )
