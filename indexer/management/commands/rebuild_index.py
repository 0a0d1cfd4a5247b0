from django.core.management.base import BaseCommand

from indexer.services import index_rebuild


class Command(BaseCommand):
    help = "Rebuild the search index from the stored analytics payloads and swap it in at once."

    def handle(self, *args, **options):
        count = index_rebuild()
        self.stdout.write(f"rebuilt the index from {count} video(s)")
