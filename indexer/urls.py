from django.urls import path

from indexer import analysis_apis, apis, job_apis, media_apis, pipeline_apis

urlpatterns = [
    path("schemas/", apis.SchemaListCreateApi.as_view(), name="schema-list"),
    path("schemas/default/", apis.SchemaDefaultApi.as_view(), name="schema-default"),
    path("schemas/<int:schema_id>/", apis.SchemaDetailApi.as_view(), name="schema-detail"),
    path("ingest/", apis.IngestApi.as_view(), name="ingest"),
    path("ingest/<uuid:job_id>/", apis.IngestDetailApi.as_view(), name="ingest-detail"),
    path("analyses/", analysis_apis.AnalysisListApi.as_view(), name="analysis-list"),
    path("analyses/<uuid:analysis_id>/", analysis_apis.AnalysisDetailApi.as_view(), name="analysis-detail"),
    path("analyses/<uuid:analysis_id>/payload.json", analysis_apis.AnalysisPayloadApi.as_view(),
         name="analysis-payload"),
    path("analyses/<uuid:analysis_id>/log.txt", analysis_apis.AnalysisLogApi.as_view(), name="analysis-log"),
    path("pipelines/", pipeline_apis.PipelineListApi.as_view(), name="pipeline-list"),
    path("pipelines/<str:name>/", pipeline_apis.PipelineDetailApi.as_view(), name="pipeline-detail"),
    path("jobs/", job_apis.JobListApi.as_view(), name="job-list"),
    path("jobs/<str:kind>/<uuid:job_id>/", job_apis.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<str:kind>/<uuid:job_id>/retry/", job_apis.JobRetryApi.as_view(), name="job-retry"),
    path("jobs/<str:kind>/<uuid:job_id>/cancel/", job_apis.JobCancelApi.as_view(), name="job-cancel"),
    path("jobs/<str:kind>/<uuid:job_id>/archive/", job_apis.JobArchiveApi.as_view(), name="job-archive"),
    path("jobs/<str:kind>/<uuid:job_id>/expiry/", job_apis.JobExpiryApi.as_view(), name="job-expiry"),
    path("videos/", apis.VideoListApi.as_view(), name="video-list"),
    path("videos/<int:video_id>/", apis.VideoDetailApi.as_view(), name="video-detail"),
    path("videos/<int:video_id>/versions/", apis.VideoVersionsApi.as_view(), name="video-versions"),
    path("videos/<int:video_id>/versions/<int:number>/restore/", apis.VideoVersionRestoreApi.as_view(),
         name="video-version-restore"),
    path("videos/<int:video_id>/media/", apis.VideoMediaApi.as_view(), name="video-media"),
    path("videos/<int:video_id>/labels/", apis.VideoLabelsApi.as_view(), name="video-labels"),
    path("videos/<int:video_id>/stream/", apis.LiveChunkApi.as_view(), name="video-live-chunks"),
    path("videos/<int:video_id>/clip.mp4", media_apis.VideoClipApi.as_view(), name="video-clip"),
]
