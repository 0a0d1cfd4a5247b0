from django.core.management.base import BaseCommand

from indexer.services import index_merge


class Command(BaseCommand):
    help = ("Merge the search index's segments as the index queue's merge task does (after a bulk load "
            "with no task worker running, for instance); a no-op while another merge runs.")

    def handle(self, *args, **options):
        merges = index_merge()
        self.stdout.write(f"merged the index {merges} time(s)")
