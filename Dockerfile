# simple RBAS production image: gunicorn + Django, non-root, no compilers at run time.
# The base is a build argument so that a machine without a registry can build on a stand-in.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY requirements.txt /tmp/requirements.txt
RUN /venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

FROM ${PYTHON_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_READ_DOT_ENV_FILE=false \
    PATH="/venv/bin:$PATH" \
    PYTHON=/venv/bin/python
# A numeric user, so that Kubernetes can check runAsNonRoot.
RUN groupadd --system --gid 10001 rbas \
    && useradd --system --uid 10001 --gid rbas --home-dir /app --shell /usr/sbin/nologin rbas
WORKDIR /app
COPY --from=build /venv /venv
COPY . .
# Static files are collected at build time into a folder the server cannot write. The service
# writes nothing in /app: state lives in the database, scratch space in /tmp.
RUN SECRET_KEY=build-only-not-a-secret \
        python manage.py collectstatic --noinput --verbosity 0 \
    && chmod 0755 run_web.sh
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]
CMD ["./run_web.sh"]
