"""URL map: the versioned API, its schema and docs, health probes, the admin."""
from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from adfame import health
from callbacks import apis as callback_apis
from campaigns import apis as campaign_apis
from jobs import apis as job_apis
from predictions import apis as prediction_apis

api_v1 = [
    path("products", campaign_apis.ProductCollectionApi.as_view(), name="products"),
    path("products/<uuid:product_id>", campaign_apis.ProductDetailApi.as_view(), name="product-detail"),
    path("brand-assets", campaign_apis.BrandAssetCreateApi.as_view(), name="brand-assets"),
    path("campaigns", campaign_apis.CampaignCollectionApi.as_view(), name="campaigns"),
    path("campaigns/<uuid:campaign_id>", campaign_apis.CampaignDetailApi.as_view(), name="campaign-detail"),
    path(
        "campaigns/<uuid:campaign_id>/gate-override",
        campaign_apis.CampaignGateOverrideApi.as_view(),
        name="campaign-gate-override",
    ),
    path("jobs", job_apis.JobCollectionApi.as_view(), name="jobs"),
    path("jobs/<uuid:job_id>", job_apis.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<uuid:job_id>/cancel", job_apis.JobCancelApi.as_view(), name="job-cancel"),
    path("jobs/<uuid:job_id>/steps", job_apis.JobStepsApi.as_view(), name="job-steps"),
    path("jobs/<uuid:job_id>/retry", job_apis.JobRetryApi.as_view(), name="job-retry"),
    path("jobs/<uuid:job_id>/scenes/<int:scene>/retry", job_apis.JobSceneRetryApi.as_view(), name="job-scene-retry"),
    path("jobs/<uuid:job_id>/events", callback_apis.JobEventsApi.as_view(), name="job-events"),
    path("event-ingestions", prediction_apis.IngestionCollectionApi.as_view(), name="event-ingestions"),
    path(
        "event-ingestions/<uuid:ingestion_id>",
        prediction_apis.IngestionDetailApi.as_view(),
        name="event-ingestion-detail",
    ),
    path(
        "predictions/customers/<int:customer_id>",
        prediction_apis.CustomerPredictionApi.as_view(),
        name="customer-prediction",
    ),
    path("webhooks/endpoints", callback_apis.EndpointCollectionApi.as_view(), name="webhook-endpoints"),
    path(
        "webhooks/endpoints/<uuid:endpoint_id>",
        callback_apis.EndpointDetailApi.as_view(),
        name="webhook-endpoint-detail",
    ),
    path(
        "webhooks/endpoints/<uuid:endpoint_id>/rotate-secret",
        callback_apis.EndpointRotateSecretApi.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path(
        "webhooks/endpoints/<uuid:endpoint_id>/ping",
        callback_apis.EndpointPingApi.as_view(),
        name="webhook-endpoint-ping",
    ),
    path(
        "webhooks/endpoints/<uuid:endpoint_id>/deliveries",
        callback_apis.EndpointDeliveriesApi.as_view(),
        name="webhook-endpoint-deliveries",
    ),
    path("webhooks/deliveries", callback_apis.DeliveryCollectionApi.as_view(), name="webhook-deliveries"),
    path(
        "webhooks/deliveries/<int:delivery_id>",
        callback_apis.DeliveryDetailApi.as_view(),
        name="webhook-delivery-detail",
    ),
    path(
        "webhooks/deliveries/<int:delivery_id>/redeliver",
        callback_apis.DeliveryRedeliverApi.as_view(),
        name="webhook-delivery-redeliver",
    ),
    path(
        "webhooks/callback-secret/rotate",
        callback_apis.CallbackSecretRotateApi.as_view(),
        name="webhook-callback-secret-rotate",
    ),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny]), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", authentication_classes=[], permission_classes=[AllowAny]),
        name="docs",
    ),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]

if settings.ADFAME_SERVE_MEDIA:
    urlpatterns.append(
        re_path(r"^%s(?P<path>.*)$" % settings.MEDIA_URL.lstrip("/"), serve, {"document_root": settings.MEDIA_ROOT})
    )

handler400 = "adfame.problems.handler400"
handler403 = "adfame.problems.handler403"
handler404 = "adfame.problems.handler404"
handler500 = "adfame.problems.handler500"
