from django.urls import include, path

from analytics import apis

urlpatterns = [
    path("search/", apis.SearchApi.as_view(), name="search"),
    path("similar/", apis.SimilarApi.as_view(), name="similar"),
    path("stats/occurrence/", apis.OccurrenceApi.as_view(), name="stats-occurrence"),
    path("stats/cooccurrence/", apis.CooccurrenceApi.as_view(), name="stats-cooccurrence"),
    path("stats/geo/", apis.GeoApi.as_view(), name="stats-geo"),
    path("stats/regions/", apis.RegionStatsApi.as_view(), name="stats-regions"),
    path("stats/timeline/", apis.TimelineApi.as_view(), name="stats-timeline"),
    path("searches/", apis.SavedSearchListApi.as_view(), name="saved-search-list"),
    path("searches/<int:saved_id>/", apis.SavedSearchDetailApi.as_view(), name="saved-search-detail"),
    path("searches/<int:saved_id>/watch/", apis.SavedSearchWatchApi.as_view(), name="saved-search-watch"),
    path("alerts/", apis.AlertListApi.as_view(), name="alert-list"),
    path("alerts/<int:alert_id>/ack/", apis.AlertAckApi.as_view(), name="alert-ack"),
    path("regions/", apis.RegionLayerListApi.as_view(), name="region-list"),
    path("regions/<int:layer_id>/", apis.RegionLayerDetailApi.as_view(), name="region-detail"),
    path("export/detections.geojson", apis.DetectionsGeojsonApi.as_view(), name="export-detections-geojson"),
    path("export/detections.csv", apis.DetectionsCsvApi.as_view(), name="export-detections-csv"),
    path("export/labels", apis.LabelExportApi.as_view(), name="export-labels"),
    path("exports/", apis.ExportJobListApi.as_view(), name="export-job-list"),
    path("exports/<uuid:job_id>/", apis.ExportJobDetailApi.as_view(), name="export-job-detail"),
    path("exports/<uuid:job_id>/file", apis.ExportJobFileApi.as_view(), name="export-job-file"),
    path("review/", include("analytics.review.urls")),
]
