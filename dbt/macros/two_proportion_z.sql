{#- z statistic of a two-proportion test with pooled variance: (x1/n1 - x2/n2) / se, where
    se = sqrt(p (1 - p) (1/n1 + 1/n2)) and p = (x1 + x2) / (n1 + n2). Null when a sample is
    empty or the pooled share is 0 or 1 (no variance). -#}
{% macro two_proportion_z(x1, n1, x2, n2) -%}
    case
        when
            {{ n1 }} > 0 and {{ n2 }} > 0
            and ({{ x1 }} + {{ x2 }}) > 0
            and ({{ x1 }} + {{ x2 }}) < ({{ n1 }} + {{ n2 }})
            then (
                cast({{ x1 }} as double precision) / {{ n1 }}
                - cast({{ x2 }} as double precision) / {{ n2 }}
            ) / sqrt(
                (cast({{ x1 }} + {{ x2 }} as double precision) / ({{ n1 }} + {{ n2 }}))
                * (1 - cast({{ x1 }} + {{ x2 }} as double precision) / ({{ n1 }} + {{ n2 }}))
                * (1.0 / {{ n1 }} + 1.0 / {{ n2 }})
            )
    end
{%- endmacro %}
