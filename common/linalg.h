/* linalg: BLAS and LAPACK behind one small wrapper (OpenBLAS), each call with
 * a plain-loop twin la_naive_* of identical semantics that a test compares
 * against it.  Every matrix is dense row-major: an r x c matrix M has element
 * (i, j) at M[i*c + j].  Arguments go outputs, inputs, sizes, then options.
 * Sizes are int because BLAS takes int.  OpenBLAS threads are left to the
 * OPENBLAS_NUM_THREADS environment variable; we never set them. */
#ifndef PROMO_LINALG_H
#define PROMO_LINALG_H

#include <stdbool.h>

enum la_backend { LA_BLAS, LA_NAIVE };

/* Choose what la_* calls: OpenBLAS (the default) or the naive loops. */
void la_set_backend(enum la_backend backend);
enum la_backend la_get_backend(void);

/* C[m x n] = alpha * op(A) * op(B) + beta * C, where op(A) is m x k (A is
 * stored m x k, or k x m when transA) and op(B) is k x n (B stored k x n, or
 * n x k when transB).  With beta == 0, C is not read (as in BLAS). */
void la_sgemm(float *C, const float *A, const float *B, int m, int n, int k,
              bool transA, bool transB, float alpha, float beta);
void la_dgemm(double *C, const double *A, const double *B, int m, int n, int k,
              bool transA, bool transB, double alpha, double beta);

/* y = alpha * op(A) * x + beta * y, A stored m x n; without trans x has n
 * elements and y has m, with trans x has m and y has n.  beta == 0: y not read. */
void la_sgemv(float *y, const float *A, const float *x, int m, int n,
              bool trans, float alpha, float beta);
void la_dgemv(double *y, const double *A, const double *x, int m, int n,
              bool trans, double alpha, double beta);

/* Vector kernels on n elements: dot product, y += alpha * x, x *= alpha. */
float la_sdot(const float *x, const float *y, int n);
double la_ddot(const double *x, const double *y, int n);
void la_saxpy(float *y, const float *x, int n, float alpha);
void la_daxpy(double *y, const double *x, int n, double alpha);
void la_sscal(float *x, int n, float alpha);

/* Solve A X = B by Cholesky: A is n x n symmetric positive definite (only
 * its lower triangle is read), B and X are n x nrhs; X may be B.  Returns 0,
 * or nonzero (X untouched) when A is not positive definite. */
int la_dposv(double *X, const double *A, const double *B, int n, int nrhs);

/* Least squares min ||A X - B|| by QR: A is m x n with m >= n, B is m x nrhs,
 * X is n x nrhs and may be B (then its first n rows).  Returns nonzero (X
 * untouched) when A is rank-deficient, meaning some diagonal element of R is
 * at most max(m,n) * DBL_EPSILON * max|R_jj|. */
int la_dgels(double *X, const double *A, const double *B, int m, int n, int nrhs);

/* Ainv[n x n] = A^-1 for A symmetric positive definite (lower triangle
 * read), full symmetric result; Ainv may be A.  Nonzero when A is not SPD. */
int la_dinv_spd(double *Ainv, const double *A, int n);

/* The plain-loop twins, same contracts as above. */
void la_naive_sgemm(float *C, const float *A, const float *B, int m, int n, int k,
                    bool transA, bool transB, float alpha, float beta);
void la_naive_dgemm(double *C, const double *A, const double *B, int m, int n, int k,
                    bool transA, bool transB, double alpha, double beta);
void la_naive_sgemv(float *y, const float *A, const float *x, int m, int n,
                    bool trans, float alpha, float beta);
void la_naive_dgemv(double *y, const double *A, const double *x, int m, int n,
                    bool trans, double alpha, double beta);
float la_naive_sdot(const float *x, const float *y, int n);
double la_naive_ddot(const double *x, const double *y, int n);
void la_naive_saxpy(float *y, const float *x, int n, float alpha);
void la_naive_daxpy(double *y, const double *x, int n, double alpha);
void la_naive_sscal(float *x, int n, float alpha);
int la_naive_dposv(double *X, const double *A, const double *B, int n, int nrhs);
int la_naive_dgels(double *X, const double *A, const double *B, int m, int n, int nrhs);
int la_naive_dinv_spd(double *Ainv, const double *A, int n);

#endif
