"""``/media/``: a video's bytes and pictures, for the player and the result grid."""

from django.urls import path

from indexer import media_apis

urlpatterns = [
    path("videos/<int:video_id>/stream", media_apis.VideoBytesApi.as_view(), name="video-bytes"),
    path("videos/<int:video_id>/thumbnail.jpg", media_apis.VideoThumbnailApi.as_view(), name="video-thumbnail"),
    path("videos/<int:video_id>/sprite.jpg", media_apis.VideoSpriteApi.as_view(), name="video-sprite"),
]
