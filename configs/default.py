"""Every config field with its default: the RTRBM paper's bouncing-balls setup.

The other configs start from this one and change only what differs
(`configs/bouncing_balls.py` is our best measured recipe on the same task).

The paper's model and data (Sutskever, Hinton and Taylor 2008): 400 hidden units,
weights 0.005 * N(0, 1), 30 x 30 frames of 3 balls, 100-frame sequences, the
visible-hidden weights first pretrained as a plain RBM (CD-5, momentum 0.9), one
sequence per update, SGD with momentum 0.9 and a learning rate decaying linearly
to 0 over 100,000 updates (the paper's 0.01 on a gradient averaged over the
frames is our 1e-4 on the gradient summed over them), CD-5 then CD-10 from update
100 and CD-25 from update 1000, negative chains started at the data.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0

  # A run directory (its params.npz) or a .npz parameter file that a fresh run
  # starts from instead of random weights (fine-tuning, longer schedules; set
  # pretrain.num_steps = 0). "": random weights.
  config.init_from = ""

  config.model = ml_collections.ConfigDict()
  config.model.kind = "rtrbm"
  config.model.num_visible = 900
  config.model.num_hidden = 400
  config.model.visible_type = "binary"
  config.model.weight_scale = 0.005
  # "fused_threefry" draws the same samples as "uniform" (threefry keys), ~10x
  # cheaper on CPU (see docs/performance.md).
  config.model.sampler = "fused_threefry"
  # RNN-RBM only: size of the RNN state (None: as many as num_hidden).
  config.model.num_recurrent = ml_collections.config_dict.placeholder(int)

  config.data = ml_collections.ConfigDict()
  config.data.name = "bouncing_balls"
  config.data.num_frames = 100
  config.data.resolution = 30
  config.data.num_train = 4000
  config.data.num_test = 200
  config.data.window_stride = 1
  config.data.path = ""
  # "fixed": train on the data set's training split; "simulator" (bouncing balls
  # only): fresh sequences of the JAX simulator at every update, as Sutskever's
  # code trained (a pure function of the seed and the update, drawn on the device).
  config.data.train_source = "fixed"

  config.optimizer = ml_collections.ConfigDict()
  config.optimizer.name = "sgd"
  config.optimizer.learning_rate = 1e-4
  config.optimizer.momentum = 0.9
  config.optimizer.nesterov = False
  config.optimizer.b1 = 0.9
  config.optimizer.b2 = 0.999
  config.optimizer.eps = 1e-8
  config.optimizer.weight_decay = 0.0
  config.optimizer.clip_norm = 0.0
  config.optimizer.schedule = "linear"
  config.optimizer.warmup_steps = 0

  config.train = ml_collections.ConfigDict()
  config.train.num_steps = 100_000
  config.train.batch_size = 1
  # k of CD-k before the first entry of gibbs_schedule.
  config.train.num_gibbs_steps = 5
  # (update, k): k Gibbs steps from that update of the temporal model on.
  config.train.gibbs_schedule = ((100, 10), (1000, 25))
  # Where each frame's negative chain starts: "data" (CD-k), "prediction" (the
  # model's prediction of the frame) or "persistent" (PCD); see frame_statistics.py.
  config.train.chain_start = "data"
  config.train.log_every = 100
  config.train.checkpoint_every = 5000
  config.train.keep_checkpoints = 3
  config.train.plot_every = 0
  # "none", "data" (split each batch over all devices) or "sweep" (split the
  # points of a sweep over the devices).
  config.train.parallelism = "none"
  # Sweeps only: points vmapped together per group (0: all). On this 2-core CPU an
  # 8-point sweep of configs/bouncing_balls.py ran at 1.04 of 8 single runs in
  # groups of 2, 0.88 all at once (batched matrix products are slower there than
  # single ones).
  config.train.sweep_group_size = 2

  config.pretrain = ml_collections.ConfigDict()
  config.pretrain.num_steps = 1000
  config.pretrain.batch_size = 1
  config.pretrain.learning_rate = 1e-4
  config.pretrain.momentum = 0.9
  config.pretrain.num_gibbs_steps = 5

  config.eval = ml_collections.ConfigDict()
  config.eval.every = 5000
  config.eval.num_sequences = 50
  config.eval.num_gibbs_steps = 50
  config.eval.num_samples = 4
  config.eval.prime_frames = 10
  config.eval.generate_frames = 30
  # How a held-out frame is predicted from its RBM: "gibbs" (the papers' chain of
  # eval.num_gibbs_steps steps) or "mean_field" (the same steps, means for samples).
  config.eval.prediction_rule = "gibbs"
  # Data sets with a validation split keep the parameters of its best figure
  # (best_params.npz): "frame_accuracy" (music), "next_frame_error" (lowest), or
  # "log_likelihood", the mean over
  # `log_likelihood_frames` sampled held-out frames by AIS with these settings.
  config.eval.select_by = "frame_accuracy"
  config.eval.log_likelihood_frames = 250
  config.eval.num_temperatures = 300
  config.eval.num_chains = 16
  return config
