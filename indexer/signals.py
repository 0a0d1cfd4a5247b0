"""What the index tells the rest of Scoop.

``video_indexed``: a write added analytics to a video and is published (searches see it). Sent
with ``video_id`` and ``span``: ``None`` when the whole video was (re)indexed, else ``(start_t,
end_t)``, the times of the first and last frame a live chunk added. Watches listen to it
(:mod:`analytics.watches`); the indexer does not know who listens.
"""

from django.dispatch import Signal

video_indexed = Signal()
