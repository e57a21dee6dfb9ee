FROM python:3.11-slim-bookworm

# WeasyPrint's system libraries and fonts (no font is ever downloaded at run time).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libcairo2 fonts-dejavu-core gettext \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml requirements.lock ./
RUN pip install --no-cache-dir --upgrade pip \
    && pip install --no-cache-dir --require-hashes -r requirements.lock \
    && pip install --no-cache-dir --no-deps -e .
COPY . .
RUN DEBUG=1 python manage.py compilemessages --ignore=.venv -v0 \
    && DEBUG=0 SECRET_KEY=build-only ALLOWED_HOSTS=build python manage.py collectstatic --noinput -v0
RUN useradd --create-home onco && mkdir -p /data/media && chown -R onco /data /app
USER onco
EXPOSE 8000
