/* The error bound of the disciplined clock (RFC 5905 section 11.3 root distance, grown
 * at PHI since the last update) as the kernel's maxerror/esterror and eng_status.bound.
 * Pure arithmetic on values the discipline provides; it decides nothing else. */
#include "core/bnd.h"

#include <math.h>

/* A value that can take part in the bound: finite and not negative. */
static bool usable(double v)
{
    return isfinite(v) && v >= 0.0;
}

static bool input_usable(const struct bnd_input *in)
{
    return usable(in->root_delay) && usable(in->root_dispersion) && isfinite(in->age) &&
           usable(in->offset_error) && isfinite(in->residual) && usable(in->skew_ppm);
}

static double cap(double v)
{
    return v > BND_MAXERROR_UNSYNC ? BND_MAXERROR_UNSYNC : v;
}

void bnd_compute(const struct bnd_input *in, struct bnd_value *out)
{
    if (in == NULL || !in->synced || !input_usable(in)) {
        out->maxerror = BND_MAXERROR_UNSYNC;
        out->esterror = BND_MAXERROR_UNSYNC;
        return;
    }
    double age = in->age > 0.0 ? in->age : 0.0;
    double skew = in->skew_ppm * 1e-6;
    /* RFC 5905 grows the dispersion at PHI, a tolerance for an undisciplined clock; an
     * estimated skew above it means the clock may wander faster than that. */
    double growth = (skew > BND_PHI ? skew : BND_PHI) * age;
    double residual = fabs(in->residual);
    out->maxerror =
        cap(in->root_delay / 2.0 + in->root_dispersion + growth + residual + in->offset_error);
    double drift = skew * age;
    out->esterror = cap(sqrt(in->offset_error * in->offset_error + drift * drift) + residual);
}

void bnd_fill_status(const struct bnd_input *in, uint8_t leap, struct act_status *st)
{
    struct bnd_value v;
    bnd_compute(in, &v);
    bool synced = in != NULL && in->synced && v.maxerror < BND_MAXERROR_UNSYNC;
    st->synced = synced;
    /* Arming a leap second on an unsynchronized clock would trust stale news. */
    st->leap = synced && (leap == 1 || leap == 2) ? leap : 0;
    st->maxerror = synced ? v.maxerror : BND_MAXERROR_UNSYNC;
    st->esterror = synced ? v.esterror : BND_MAXERROR_UNSYNC;
}
