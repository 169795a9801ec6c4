# Production image: uvicorn (HTTP + websockets, `manage.py serve`), Celery worker and beat share it.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    ATENDE_VAR_DIR=/app/var
WORKDIR /app

RUN useradd --create-home --uid 1000 atende
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# Build-time settings only: real values come from the environment at run time.
RUN DEBUG=1 python manage.py compiletranslations -v 0 \
 && DEBUG=1 python manage.py collectstatic --noinput -v 0 \
 && mkdir -p /app/var && chown -R atende /app/var
USER atende
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--port", "8000"]
