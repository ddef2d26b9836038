// Kernels on NHWC float32 buffers; geometry comes from tfjs's computeConv2DInfo/computePool2DInfo.
#pragma once

namespace kiln {

struct ConvGeom {
  long batch, inH, inW, inC, outH, outW, outC, fH, fW, sH, sW, dH, dW, padT, padL;
  long mult() const { return outC / inC; }
};

enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kElu = 3, kLeakyRelu = 4, kSigmoid = 5 };

// y = act(x + bias); bias (length n, may be null) broadcast over rows of an [m×n] matrix.
void biasActivation(float* y, long m, long n, const float* bias, int activation, float alpha);

void conv2d(const ConvGeom& g, const float* x, const float* f, float* y);
// Winograd F(2×2, 3×3) (winograd.cc): when it applies, and the convolution itself (rotated: the input gradient's
// filter, f[2 − ky][2 − kx][o][c]).
bool winogradApplies(long fH, long fW, long sH, long sW, long dH, long dW, long padT, long padL, long inC, long outC,
                     long outH, long outW);
void winogradConv3x3(long batch, long inH, long inW, long C, long outH, long outW, long O, long padT, long padL,
                     const float* x, const float* f, bool rotated, float* y);
void winogradBackpropFilter3x3(long batch, long inH, long inW, long C, long outH, long outW, long O, long padT,
                               long padL, const float* x, const float* dy, float* df);
void winogradBackpropFilterBlocked3x3(long batch, long inH, long inW, long C, long outH, long outW, long O, long padT,
                                      long padL, const float* x, const float* dy, float* df);
void conv2dBackpropInput(const ConvGeom& g, const float* dy, const float* f, float* dx);
void conv2dBackpropFilter(const ConvGeom& g, const float* x, const float* dy, float* df);
void depthwiseConv2d(const ConvGeom& g, const float* x, const float* f, float* y);
void depthwiseBackpropInput(const ConvGeom& g, const float* dy, const float* f, float* dx);
void depthwiseBackpropFilter(const ConvGeom& g, const float* x, const float* dy, float* df);

// Pools: geometry as for conv with inC == outC; windows skip padding; avg divides by the valid count.
void maxPool(const ConvGeom& g, const float* x, float* y);
void avgPool(const ConvGeom& g, const float* x, float* y);
void maxPoolGrad(const ConvGeom& g, const float* x, const float* dy, float* dx);
void avgPoolGrad(const ConvGeom& g, const float* dy, float* dx);

}  // namespace kiln

namespace kiln {

enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kMaximum = 4, kMinimum = 5, kSquaredDifference = 6 };
enum UnaryOp { kReluOp = 0, kStepOp = 1, kExpOp = 2, kSqrtOp = 3, kRsqrtOp = 4, kSquareOp = 5, kNegOp = 6, kErfOp = 7, kFloorOp = 8 };
enum { kReluGradOp = 7 };

// out = a op b over out's shape (rank ≤ 8); a/b strides are 0 on broadcast dimensions.
void binary(int op, const float* a, const float* b, float* out, int rank, const long* shape, const long* aStrides,
            const long* bStrides);
void unary(int op, const float* x, float* y, long n, float alpha);
// y = (x - mean) * scale / sqrt(var + eps) + offset over the last axis (length c); params of length 1 or c.
void batchNorm(const float* x, float* y, long n, long c, const float* mean, long meanLen, const float* variance,
               long varLen, const float* offset, long offsetLen, const float* scale, long scaleLen, float eps);
// The gradients of batchNorm (mean and variance taken as inputs, as tfjs's FusedBatchNorm gradient does)
// in one pass: dx = dy·s·r, dmean = −s·r·Σdy, dvar = −½·s·r³·Σdy(x−m), dscale = r·Σdy(x−m), doffset = Σdy,
// with r = 1/√(var+eps), per channel of the last axis; scale may be null (1).
void batchNormGrad(const float* x, const float* dy, long n, long c, const float* mean, const float* variance,
                   const float* scale, float eps, float* dx, float* dmean, float* dvar, float* dscale, float* doffset);
// Training batch norm over the last axis (length c) of x [n/c rows]: per-channel batch mean and biased
// variance (one pass), then y = (x − mean)·scale/√(var + eps) + offset (one pass).
void batchNormTrain(const float* x, long n, long c, const float* scale, const float* offset, float eps, float* y,
                    float* mean, float* variance);
// Its gradient given dy and the gradients dmean, dvariance of the statistics outputs (may be null): one pass for
// Σdy and Σdy·(x − mean), one for dx = a·dy + k·x + b per channel; dscale = Σdy·x̂, doffset = Σdy.
void batchNormTrainGrad(const float* dy, const float* x, long n, long c, const float* scale, const float* mean,
                        const float* variance, const float* dmean, const float* dvariance, float eps, float* dx,
                        float* dscale, float* doffset);
void softmax(const float* x, float* y, long rows, long cols);
// y[o, i] = sum_r x[o, r, i].
void reduceSum(const float* x, float* y, long outer, long reduce, long inner);
void transpose(const float* x, float* y, int rank, const long* shape, const long* perm);
// y[yOffset + Σ i_d·yStrides_d] = x[xOffset + Σ i_d·xStrides_d] over every index i of shape (rank ≤ 8):
// slices, pads, tiles and broadcasts are this copy with the right strides.
void stridedCopy(const float* x, long xOffset, const long* xStrides, float* y, long yOffset, const long* yStrides,
                 int rank, const long* shape);
// Fills y[0, n) with value.
void fill(float* y, long n, float value);

}  // namespace kiln
