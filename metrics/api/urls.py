from django.urls import path

from . import views

urlpatterns = [
    path("metrics/summary/", views.SummaryView.as_view(), name="metrics-summary"),
    path("metrics/cards/", views.CardsView.as_view(), name="metrics-cards"),
    path("metrics/timeseries/", views.TimeseriesView.as_view(), name="metrics-timeseries"),
    path("metrics/heatmap/", views.HeatmapView.as_view(), name="metrics-heatmap"),
    path("metrics/agents/", views.AgentsView.as_view(), name="metrics-agents"),
    path("metrics/queues/", views.QueuesView.as_view(), name="metrics-queues"),
    path("clients/", views.ClientsView.as_view(), name="metrics-clients"),
    path("logs/", views.LogsView.as_view(), name="metrics-logs"),
]
