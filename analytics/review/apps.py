from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "analytics.review"
    label = "review"
    verbose_name = "Human review"

    def ready(self) -> None:
        from analytics.review.selectors import video_reviews
        from indexer.overlays import review_source_register

        # What the index lays over each video's detections when it is written (indexer.overlays).
        review_source_register(video_reviews)
