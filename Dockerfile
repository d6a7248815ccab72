# Production image: the API (`serve --no-worker`) and the Celery workers (`worker`)
# run from the same image with different commands.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    OCR_SERVICE_DATA_DIR=/var/lib/ocr-service

# OpenCV headless needs libglib; nothing else native is required at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/ocr-service --create-home ocr

WORKDIR /app
COPY pyproject.toml README.md ./
COPY ocr_service ./ocr_service
COPY pipelines ./pipelines
COPY models ./models
RUN pip install .

USER ocr
EXPOSE 8000
# The model files come from the rapidocr wheel installed above: nothing is downloaded
# when the container starts.
CMD ["ocr-service", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-worker"]
