#!/usr/bin/python3
"""The plain Python loop most projects start from, as the baseline for
`make bench`: Debian's python3-opencv, cv2.VideoCapture over every frame,
YOLOX letterbox, net.forward, NumPy decoding and cv2.dnn.NMSBoxes per class.

usage: python_loop.py VIDEO MODEL.onnx   prints "frames=N seconds=S fps=F persons_per_frame=P"
"""
import sys
import time

import cv2
import numpy as np

SIZE, SCORE, NMS = 416, 0.3, 0.45
STRIDES = (8, 16, 32)


def grids():
    xs, ys, ss = [], [], []
    for s in STRIDES:
        g = SIZE // s
        yv, xv = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
        xs.append(xv.ravel()); ys.append(yv.ravel()); ss.append(np.full(g * g, s))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ss).astype(np.float32)


def main():
    video, model = sys.argv[1], sys.argv[2]
    net = cv2.dnn.readNetFromONNX(model)
    gx, gy, gs = grids()
    cap = cv2.VideoCapture(video)
    frames = persons = 0
    start = time.perf_counter()
    while True:
        ok, img = cap.read()
        if not ok:
            break
        h, w = img.shape[:2]
        r = min(SIZE / h, SIZE / w)
        canvas = np.full((SIZE, SIZE, 3), 114, np.uint8)
        canvas[: round(h * r), : round(w * r)] = cv2.resize(img, (round(w * r), round(h * r)))
        net.setInput(cv2.dnn.blobFromImage(canvas, 1.0, (SIZE, SIZE), (0, 0, 0), False, False))
        out = net.forward()[0]
        scores = out[:, 4:5] * out[:, 5:]
        cls = scores.argmax(1)
        best = scores[np.arange(len(cls)), cls]
        keep = best > SCORE
        o, cls, best = out[keep], cls[keep], best[keep]
        cx = (o[:, 0] + gx[keep]) * gs[keep]
        cy = (o[:, 1] + gy[keep]) * gs[keep]
        bw = np.exp(o[:, 2]) * gs[keep]
        bh = np.exp(o[:, 3]) * gs[keep]
        boxes = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], 1) / r
        for c in np.unique(cls):
            m = cls == c
            idx = cv2.dnn.NMSBoxes(boxes[m].tolist(), best[m].tolist(), SCORE, NMS)
            if c == 0:
                persons += len(idx)
        frames += 1
    secs = time.perf_counter() - start
    print(f"frames={frames} seconds={secs:.2f} fps={frames / secs:.2f} persons_per_frame={persons / max(frames, 1):.2f}")


if __name__ == "__main__":
    main()
