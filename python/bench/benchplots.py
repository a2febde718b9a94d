"""What the GPU benchmark scripts share: a median, and a grouped bar chart (PNG; skipped where
matplotlib is missing)."""


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def bar_chart(path, cases, series, title, figsize=(8, 4.5)):
    """One group of bars per case; ``series`` is [(label, [value per case])], in GB/s."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=figsize)
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series):
        ax.bar([x + i * width for x in range(len(cases))], values, width, label=label)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(cases))])
    ax.set_xticklabels(cases)
    ax.set_ylabel("GB/s")
    ax.set_title(title)
    ax.legend(fontsize=7 if len(series) > 6 else 8, ncol=2 if len(series) > 6 else 1)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
