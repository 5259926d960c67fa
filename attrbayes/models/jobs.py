"""The hierarchical private job growth model (MODEL.md sections 4 and 6.3).

For unit i in group g(i) and year t::

    JG[i,t] ~ StudentT(nu, mu[i,t], sigma[i,t])
    mu[i,t] = a + b_ind IE[i,t] + b_pop PG[i,t] (+ c C[i]) + year[t] + group[g(i)]
              + place[i] (+ ar[i,t])
    sigma[i,t]^2 = floor^2 + (s_noise * (J[i,t-1] / 10,000)^-k)^2

``JG`` is private job growth relative to the nation, ``IE`` the shift-share industry
effect (also relative to national private growth), ``PG`` the mean relative population
growth of the three previous years and ``J`` last year's private jobs. The book fixes
``b_ind`` at 1; here it is estimated. The optional centrality term (a constant coefficient
in the ``jobs_centrality`` spec) checks the book's finding that centrality adds nothing.
Business attractiveness is the latent ``group + place (+ ar)``.

The graph is the migration model's: the same effects, parameterisations and likelihood on
another design, so both equations are fitted, diagnosed and compared the same way.
"""

from __future__ import annotations

from attrbayes.exceptions import SpecError
from attrbayes.models.migration import MigrationModel


class JobsModel(MigrationModel):
    """Hierarchical private job growth model; see the module docstring for the equation."""

    kind = "jobs"

    def validate(self) -> None:
        if self.spec.time_varying.immigration:
            raise SpecError(
                f"spec {self.spec.name}: [time_varying] immigration belongs to the migration "
                "model; the job model has no national immigration term"
            )
        if self.design.kind != "jobs":
            raise SpecError(
                f"design of spec {self.design.spec_name} is a {self.design.kind} design; build "
                "it from a jobs spec"
            )
        super().validate()
