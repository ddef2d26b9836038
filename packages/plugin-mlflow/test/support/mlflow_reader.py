"""Reads an mlruns/ folder the way mlflow.store.tracking.file_store.FileStore does
(yaml.safe_load of meta.yaml, RunStatus ints, `ts value step` metric lines parsed with int()/float()),
and prints what MlflowClient would report, as JSON."""
import json, os, sys, math
import yaml

STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}

def files(d):
    out = {}
    for root, _, names in os.walk(d):
        for n in names:
            p = os.path.join(root, n)
            with open(p, encoding="utf-8") as f:
                out[os.path.relpath(p, d)] = f.read()
    return out

def read_registry(models_dir):
    """models/<name>/meta.yaml, version-N/meta.yaml and tags/, aliases/<alias> holding the version,
    as mlflow.store.model_registry.file_store.FileStore reads them."""
    out = {}
    if not os.path.isdir(models_dir):
        return out
    for name in os.listdir(models_dir):
        model_dir = os.path.join(models_dir, name)
        with open(os.path.join(model_dir, "meta.yaml")) as f:
            meta = yaml.safe_load(f)
        assert meta["name"] == name
        aliases = {}
        for alias, text in files(os.path.join(model_dir, "aliases")).items():
            aliases[alias] = int(text)
        versions = {}
        for entry in os.listdir(model_dir):
            if not entry.startswith("version-"):
                continue
            with open(os.path.join(model_dir, entry, "meta.yaml")) as f:
                vmeta = yaml.safe_load(f)
            assert "version-%d" % vmeta["version"] == entry
            versions[str(vmeta["version"])] = {
                "run_id": vmeta["run_id"],
                "source": vmeta["source"],
                "status": vmeta["status"],
                "current_stage": vmeta["current_stage"],
                "creation_timestamp": vmeta["creation_timestamp"],
                "tags": files(os.path.join(model_dir, entry, "tags")),
                "aliases": sorted(a for a, v in aliases.items() if v == vmeta["version"]),
            }
        out[name] = {"creation_timestamp": meta["creation_timestamp"], "last_updated_timestamp": meta["last_updated_timestamp"], "aliases": aliases, "versions": versions}
    return out

root = sys.argv[1]
result = {"experiments": {}, "runs": {}, "registry": read_registry(os.path.join(root, "models"))}
for exp in os.listdir(root):
    if exp in (".trash", "models"):
        continue
    exp_dir = os.path.join(root, exp)
    with open(os.path.join(exp_dir, "meta.yaml")) as f:
        meta = yaml.safe_load(f)
    assert str(meta["experiment_id"]) == exp, (meta, exp)
    result["experiments"][exp] = {"name": meta["name"], "lifecycle_stage": meta["lifecycle_stage"], "artifact_location": meta["artifact_location"]}
    for run in os.listdir(exp_dir):
        run_dir = os.path.join(exp_dir, run)
        if not os.path.isdir(run_dir) or run in ("tags", "datasets", "traces"):
            continue
        with open(os.path.join(run_dir, "meta.yaml")) as f:
            rmeta = yaml.safe_load(f)
        assert rmeta["run_id"] == run and rmeta["run_uuid"] == run and str(rmeta["experiment_id"]) == exp
        metrics = {}
        for key, text in files(os.path.join(run_dir, "metrics")).items():
            pts = []
            for line in text.splitlines():
                parts = line.strip().split(" ")
                assert len(parts) in (2, 3), line
                v = float(parts[1])
                pts.append([int(parts[0]), None if math.isnan(v) else v, int(parts[2]) if len(parts) == 3 else 0])
            metrics[key] = pts
        result["runs"][run] = {
            "status": STATUS[rmeta["status"]],
            "run_name": rmeta["run_name"],
            "start_time": rmeta["start_time"],
            "end_time": rmeta["end_time"],
            "lifecycle_stage": rmeta["lifecycle_stage"],
            "params": files(os.path.join(run_dir, "params")),
            "tags": files(os.path.join(run_dir, "tags")),
            "metrics": metrics,
        }
print(json.dumps(result))
