/* Reference workload (shared/benchmark/REFERENCE_MODEL.md) as a compiled deSolve model.
   Parameters in the order of reference_workload.RHS_PARAMS. */
#include <R.h>

static double parms[17];
#define ka parms[0]
#define kel parms[1]
#define Vc parms[2]
#define Vmax parms[3]
#define Km parms[4]
#define Edmax parms[5]
#define EC50d parms[6]
#define TPOref parms[7]
#define kTPOin parms[8]
#define kTPOel parms[9]
#define kTPOR parms[10]
#define EC50s parms[11]
#define wMK parms[12]
#define Mref parms[13]
#define kout parms[14]
#define ktr parms[15]
#define kprol parms[16]

void initmod(void (*odeparms)(int *, double *)) {
    int N = 17;
    odeparms(&N, parms);
}

void derivs(int *neq, double *t, double *y, double *ydot, double *yout, int *ip) {
    double Ad = y[0], Ac = y[1], TPO = y[2], P = y[3], T1 = y[4], T2 = y[5], T3 = y[6], T4 = y[7], PLT = y[8];
    double C = Ac / Vc;
    double M = (PLT + wMK * (T1 + T2 + T3 + T4)) / Mref;
    double X = TPO / TPOref + Edmax * C / (EC50d + C);
    double Sx = X / (EC50s + X);
    ydot[0] = -ka * Ad;
    ydot[1] = ka * Ad - kel * Ac - Vmax * Vc * M * C / (Km + C);
    ydot[2] = kTPOin - kTPOel * TPO - kTPOR * M * TPO;
    ydot[3] = kprol * Sx * P - ktr * P;
    ydot[4] = ktr * (P - T1);
    ydot[5] = ktr * (T1 - T2);
    ydot[6] = ktr * (T2 - T3);
    ydot[7] = ktr * (T3 - T4);
    ydot[8] = ktr * T4 - kout * PLT;
}
