# ils-gateway: a small runtime image. Build: docker build -t ils-gateway .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && useradd --system --home /app gateway && mkdir -p /app/var && chown gateway /app/var
USER gateway
EXPOSE 8080
ENTRYPOINT ["ils-gateway"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
