# CPU image of the tmsearch service. GPU variant: build with
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 -t tmsearch:gpu .
# and run with `--gpus all`; the service picks CUDA automatically (--device auto).
FROM python:3.11-slim

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# optional parts: milvus (the Milvus client), postgres (psycopg, for PostgreSQL records),
# ray (distributed ingest)
ARG EXTRAS=milvus,postgres
ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    TMSEARCH_DATA_DIR=/data \
    TMSEARCH_HOST=0.0.0.0

# opencv (pulled in by the OCR package) needs libGL and GLib at import time
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY models ./models
COPY index ./index
RUN pip install --extra-index-url "${TORCH_INDEX_URL}" ".[${EXTRAS}]" \
    && useradd --create-home --uid 10001 tmsearch \
    && mkdir -p /data && chown tmsearch:tmsearch /data

USER tmsearch
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
ENTRYPOINT ["tmsearch"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
