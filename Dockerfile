# imgdesc app image. The models it needs by default ship inside PyPI packages,
# so the build needs PyPI and nothing else.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY describe describe
COPY indexer indexer
COPY search search
COPY app app
COPY templates templates
# CPU build of torch first: an unpinned install would pull a multi-GB CUDA build.
# EXTRAS: optional extras, e.g. "[ray]" for the Ray workers of docker-compose.cluster.yml
ARG EXTRAS=""
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && pip install --no-cache-dir ".${EXTRAS}"
ENV IMGDESC_HOST=0.0.0.0 IMGDESC_WATCH=/images IMGDESC_DATA_DIR=/data
EXPOSE 8000
CMD ["imgdesc", "serve"]
