from django.core.management.base import BaseCommand

from surveys.autocontouring import install


class Command(BaseCommand):
    help = "Install and publish the regional auto-contouring questionnaire (idempotent)."

    def handle(self, *args, **options):
        version = install()
        self.stdout.write(
            self.style.SUCCESS(
                f"Questionnaire ready: {version} ({version.questions.count()} questions)."
            )
        )
