"""ResNet-18, CIFAR variant (3x3/1 stem, no pool, widths 64/128/256/512), in PyTorch.

Used by bench/resnet.js for the kiln/torch ratio; prints one JSON line:
{"torch": version, "threads": n, "train_img_s": x, "infer_img_s": y}.
usage: python3 bench/resnet_torch.py [--batch 64] [--train-steps 5] [--infer-steps 10] [--threads 2]
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet18Cifar(nn.Module):
    def __init__(self, classes=10, widths=(64, 128, 256, 512)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers, cin = [], widths[0]
        for stage, w in enumerate(widths):
            blocks = [BasicBlock(cin, w, 1 if stage == 0 else 2), BasicBlock(w, w, 1)]
            layers.append(nn.Sequential(*blocks))
            cin = w
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.fc = nn.Linear(cin, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--train-steps", type=int, default=5)
    p.add_argument("--infer-steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--width", type=float, default=1.0, help="width multiplier on 64/128/256/512, rounded as Kiln's resnet")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = ResNet18Cifar(widths=tuple(max(1, int(w * a.width + 0.5)) for w in (64, 128, 256, 512)))
    x = torch.rand(a.batch, 3, 32, 32)
    y = torch.randint(0, 10, (a.batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    model.train()
    step()
    t = time.perf_counter()
    for _ in range(a.train_steps):
        step()
    train = a.batch * a.train_steps / (time.perf_counter() - t)
    model.eval()
    with torch.no_grad():
        model(x)
        t = time.perf_counter()
        for _ in range(a.infer_steps):
            model(x).sum().item()
        infer = a.batch * a.infer_steps / (time.perf_counter() - t)
    params = sum(q.numel() for q in model.parameters())
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "params": params, "train_img_s": train, "infer_img_s": infer}))


if __name__ == "__main__":
    main()
