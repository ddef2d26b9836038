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

root = sys.argv[1]
result = {"experiments": {}, "runs": {}}
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
