"""Physical constants of the study, defined once."""

#: Molar gas constant, J/(mol K).
R_J_PER_MOL_K = 8.314462618
#: 0 °C in kelvin.
ZERO_CELSIUS_K = 273.15
