from django.urls import path

from analytics import apis

urlpatterns = [
    path("search/", apis.SearchApi.as_view(), name="search"),
]
