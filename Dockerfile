# One image for every tivcast service (api, worker, beat): they differ only by the `tivcast` command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api ./api
COPY workers ./workers
COPY forecasting ./forecasting
# The tivcast user's home (/home/tivcast) is its only writable directory: beat keeps its schedule there (compose).
RUN pip install ".[flower]" && useradd --create-home tivcast
USER tivcast
EXPOSE 8000
CMD ["tivcast", "serve", "--host", "0.0.0.0", "--port", "8000"]
