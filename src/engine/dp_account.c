/* sealroom engine: zCDP accounting and conversion to (epsilon, delta). */
#include <math.h>

#include "sealroom/dp.h"

double sr_dp_rho_of_epsilon(double epsilon) { return epsilon * epsilon / 2; }

double sr_dp_rho_of_gaussian(double sensitivity, double sigma2)
{
    return sensitivity * sensitivity / (2 * sigma2);
}

double sr_dp_epsilon_of_rho(double rho, double delta)
{
    if (rho <= 0)
        return 0;
    return rho + 2 * sqrt(rho * log(1 / delta));
}

double sr_dp_rho_of_budget(double epsilon, double delta)
{
    /* rho + 2 sqrt(rho L) = eps  =>  sqrt(rho) = sqrt(L + eps) - sqrt(L). */
    double l = log(1 / delta);
    double s = sqrt(l + epsilon) - sqrt(l);
    return s * s;
}

void sr_dp_ledger_init(sr_dp_ledger *l)
{
    l->eps_pure = 0;
    l->rho = 0;
    l->rho_gauss = 0;
    l->n_pure = 0;
    l->n_gauss = 0;
}

void sr_dp_ledger_add_pure(sr_dp_ledger *l, double epsilon)
{
    l->eps_pure += epsilon;
    l->rho += sr_dp_rho_of_epsilon(epsilon);
    l->n_pure++;
}

void sr_dp_ledger_add_rho(sr_dp_ledger *l, double rho)
{
    l->rho += rho;
    l->rho_gauss += rho;
    l->n_gauss++;
}

void sr_dp_ledger_guarantee(const sr_dp_ledger *l, double delta, double *eps_out, double *delta_out)
{
    if (l->n_gauss == 0) {
        *eps_out = l->eps_pure;
        *delta_out = 0;
        return;
    }
    double all = sr_dp_epsilon_of_rho(l->rho, delta);
    double split = l->eps_pure + sr_dp_epsilon_of_rho(l->rho_gauss, delta);
    *eps_out = all < split ? all : split;
    *delta_out = delta;
}

int sr_dp_ledger_check(const sr_dp_ledger *l, double budget_eps, double budget_delta, sr_error *err)
{
    double e, d;
    if (l->n_gauss > 0 && !(budget_delta > 0 && budget_delta < 1))
        return sr_error_set(err, SR_EDENIED,
                            "Gaussian noise needs a privacy delta in (0, 1); the budget has %g",
                            budget_delta);
    sr_dp_ledger_guarantee(l, budget_delta, &e, &d);
    /* tolerate float rounding in the sum of declared shares */
    if (e > budget_eps * (1 + 1e-9))
        return sr_error_set(err, SR_EDENIED,
                            "privacy budget exceeded: the outputs spend epsilon = %.6g "
                            "(rho = %.6g zCDP, delta = %g) but the budget is epsilon = %.6g",
                            e, l->rho, d, budget_eps);
    return SR_OK;
}
