# syntax=docker/dockerfile:1
#
# Sightline's image: the one binary with its dashboard, on Debian bookworm
# with the OpenCV 4.6 libraries it links and Microsoft's ONNX Runtime.
#
#   docker build -t ghcr.io/sightline-video/sightline:latest .
#   docker build --target gpu -t ghcr.io/sightline-video/sightline:latest-gpu .
#
# The gpu target adds NVIDIA's CUDA 12 and cuDNN 9 runtime and ONNX
# Runtime's CUDA provider (x86_64 only), for `sightline worker --gpu`
# (docs/gpu.md). docker-compose.yml and deploy/kubernetes run these images.

# ---- ort: Microsoft's ONNX Runtime, sha256-checked (scripts/) -----------
# Apart from the sources, so a code change does not fetch it again.
FROM debian:bookworm-slim AS ort
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl npm python3 \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/fetch-onnxruntime.sh scripts/fetch-onnxruntime-gpu.sh /ort/
# The CPU library into /out/lib. Without it the detector would fall back
# to OpenCV, so a failed fetch fails the build.
RUN /ort/fetch-onnxruntime.sh /out/lib

# ---- ort-gpu: its CUDA and TensorRT providers, beside it -----------------
FROM ort AS ort-gpu
RUN /ort/fetch-onnxruntime-gpu.sh /out/lib

# ---- build: the dashboard and the binary ---------------------------------
FROM golang:1.26-bookworm AS build
# libopencv-dev for gocv (cgo); Node.js and npm build the dashboard.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libopencv-dev nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# The dashboard's packages first, so a change elsewhere keeps this layer.
COPY web/package.json web/package-lock.json web/
RUN cd web && npm ci --no-audit --no-fund --loglevel=error \
 && echo 'module nodemodules // keeps go ./... out of here' > node_modules/go.mod

COPY . .
# As `make build`: the dashboard into web/dist, embedded by the Go build.
RUN cd web && npm run --silent build
ENV GOTOOLCHAIN=local CGO_ENABLED=1
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -buildvcs=false -ldflags='-s -w' -o /out/sightline ./cmd/sightline

# ---- runtime: what runs ---------------------------------------------------
FROM debian:bookworm-slim AS runtime
# Only the OpenCV libraries the binary links (readelf -d bin/sightline);
# videoio brings FFmpeg's libraries, which read files, RTSP, RTMP and HLS,
# so no ffmpeg program is needed. ca-certificates for TLS to Temporal
# Cloud, MinIO and YouTube.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates \
      libopencv-core406 libopencv-imgproc406 libopencv-imgcodecs406 \
      libopencv-videoio406 libopencv-video406 libopencv-dnn406 \
      libopencv-objdetect406 libopencv-calib3d406 libopencv-features2d406 \
      libopencv-photo406 libopencv-highgui406 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=ort /out/lib/ /opt/sightline/lib/
COPY --from=build /out/sightline /usr/local/bin/sightline
# A fixed uid, so Kubernetes' runAsNonRoot can check it (deploy/kubernetes
# runs as 10001 too). Its home holds the user cache (TensorRT's engines by
# default).
RUN groupadd --system --gid 10001 sightline \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/sightline --create-home sightline
ENV SIGHTLINE_ORT_LIB=/opt/sightline/lib/libonnxruntime.so
USER 10001:10001
WORKDIR /home/sightline
# 8080: the API (SIGHTLINE_API_ADDR); 9464: a worker's /metrics and /healthz
# (SIGHTLINE_METRICS_ADDR).
EXPOSE 8080 9464
ENTRYPOINT ["sightline"]
CMD ["help"]

# ---- gpu: runtime plus CUDA 12, cuDNN 9 and ONNX Runtime's providers -----
FROM runtime AS gpu
USER root
# From NVIDIA's repository for Debian 12: the CUDA runtime libraries ONNX
# Runtime's CUDA provider loads (cudart, cuBLAS and cuBLASLt, cuFFT, cuRAND)
# and cuDNN 9. The NVIDIA driver comes from the host.
ARG CUDA_VERSION=12.6
ARG CUDA_PACKAGE_VERSION=12-6
ADD https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/cuda-keyring_1.1-1_all.deb /tmp/cuda-keyring.deb
RUN dpkg -i /tmp/cuda-keyring.deb && rm /tmp/cuda-keyring.deb \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cuda-cudart-${CUDA_PACKAGE_VERSION} libcublas-${CUDA_PACKAGE_VERSION} \
      libcufft-${CUDA_PACKAGE_VERSION} libcurand-${CUDA_PACKAGE_VERSION} libcudnn9-cuda-12 \
 && rm -rf /var/lib/apt/lists/*
# The providers sit beside libonnxruntime.so, where ONNX Runtime looks.
COPY --from=ort-gpu /out/lib/ /opt/sightline/lib/
# Which GPUs the container sees is the device plugin's (or Compose's
# device reservation's) to say; the image only asks for compute.
ENV LD_LIBRARY_PATH=/usr/local/cuda-${CUDA_VERSION}/targets/x86_64-linux/lib \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001:10001

# The plain image is the default target.
FROM runtime
