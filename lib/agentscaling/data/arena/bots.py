"""Scripted demonstrators: the stand-in for the paper's human players.

Each player of each match gets a persona (aggressive, defensive, support, explorer, sniper), a
class biased by the persona, and per-episode style parameters drawn at random: reaction delay
(they see the others as they were 1-5 steps ago), aim noise, camera turn gain and dead zone, how
readily they fire, button habits (jumping, pinging, emoting, dashing, spamming attack, how long
they hold buttons), analog or digital stick use, strafing, when to retreat, and a preferred lane.
Decisions are stochastic on top of that. Together this makes behaviour diverse across players and
only partly predictable from the screen, as human play is.

Everything is vectorised over [B matches, 8 players]; randomness comes from one generator per
match, so a match depends only on (seed, match index).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import game as rules
from . import maps as arena_maps

PERSONAS = ("aggressive", "defensive", "support", "explorer", "sniper")
AGGRESSIVE, DEFENSIVE, SUPPORT, EXPLORER, SNIPER = range(5)
HIST = 8  # steps of position history kept (max delay + lead)
N_UNIFORM, N_NORMAL = 64, 6

# class probabilities per persona (striker, ranger, tank, medic)
CLASS_BIAS = np.array(
    [
        [0.45, 0.15, 0.3, 0.1],
        [0.15, 0.3, 0.45, 0.1],
        [0.1, 0.15, 0.15, 0.6],
        [0.3, 0.3, 0.2, 0.2],
        [0.05, 0.75, 0.05, 0.15],
    ]
)
# roaming interest: 6 lane waypoints (own side -> enemy side), zones (centre, own, enemy),
# pickups (3 own side, 3 enemy side)
ROAM_WEIGHTS = np.array(
    [
        [0, 0, 0.5, 1, 1, 1, 1, 0, 1.5, 0, 0, 0, 0.3, 0.3, 0.3],
        [0.3, 0.8, 0.3, 0, 0, 0, 0.5, 3, 0, 0.4, 0.4, 0.4, 0, 0, 0],
        [0, 0.5, 1, 0.5, 0, 0, 1, 1, 0.3, 0.2, 0.2, 0.2, 0, 0, 0],
        [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1, 1, 1, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6],
        [0.3, 1.5, 1, 0, 0, 0, 0.3, 0.8, 0, 0.2, 0.2, 0.2, 0, 0, 0],
    ]
)
ENGAGE_RANGE = np.array([11.0, 8.0, 8.5, 6.0, 14.0], np.float32)
SIGHT = np.array([11.0, 10.0, 10.0, 10.0, 14.0], np.float32)


@dataclass
class Styles:
    """Per-player, per-episode behaviour parameters, each an array [B, P]."""

    persona: np.ndarray
    delay: np.ndarray  # reaction delay in steps (1..5)
    aim_noise: np.ndarray  # std of the aim error (rad), slowly varying
    turn_gain: np.ndarray  # how hard they push the aim stick per radian of error
    dead_zone: np.ndarray  # aim errors below this are left alone (rad)
    fire_prob: np.ndarray  # chance to pull the trigger when a shot lines up
    spam: np.ndarray  # chance per step to fire at nothing
    fire_hold: np.ndarray  # frames a trigger pull is held
    jump_rate: np.ndarray
    dash_rate: np.ndarray
    ping_rate: np.ndarray
    emote_rate: np.ndarray
    lock_rate: np.ndarray
    block_rate: np.ndarray
    interact_rate: np.ndarray
    ability_eager: np.ndarray  # multiplier on ability use
    mash: np.ndarray  # chance per fighting step to press an ability that is not ready
    analog: np.ndarray  # chance a move uses a partial stick deflection
    stick_noise: np.ndarray  # std of stick jitter
    strafe_amp: np.ndarray
    strafe_period: np.ndarray
    pref_dist: np.ndarray  # preferred fighting distance
    retreat_hp: np.ndarray  # health fraction below which they retreat
    look_pitch: np.ndarray  # resting aim_y
    glance_rate: np.ndarray  # chance per step to start looking around
    lane: np.ndarray  # preferred route 0..2


def _u(rng, lo, hi, n):
    return lo + (hi - lo) * rng.random(n)


def sample_styles(rng: np.random.Generator, personas: np.ndarray) -> dict[str, np.ndarray]:
    """Style parameters for the players of one match (personas [P])."""
    P = len(personas)
    agg, dfn, sup, exp, snp = (personas == k for k in range(5))
    lane_p = np.where(exp[:, None], 1 / 3, np.array([0.3, 0.4, 0.3]))
    lane = (rng.random(P)[:, None] > np.cumsum(lane_p, 1)).sum(1).clip(0, 2)
    return dict(
        persona=personas.astype(np.int64),
        delay=np.clip(rng.integers(1, 6, P) - (agg & (rng.random(P) < 0.5)), 1, 5),
        aim_noise=_u(rng, 0.04, 0.35, P) * np.where(snp, 0.5, 1.0),
        turn_gain=_u(rng, 0.5, 1.2, P),
        dead_zone=_u(rng, 0.05, 0.25, P),
        fire_prob=np.select([agg, snp], [_u(rng, 0.55, 0.85, P), _u(rng, 0.3, 0.65, P)], _u(rng, 0.4, 0.8, P)),
        spam=np.where(rng.random(P) < 0.3, _u(rng, 0.02, 0.15, P), _u(rng, 0.0, 0.02, P)),
        fire_hold=rng.integers(1, 3, P),
        jump_rate=np.where(rng.random(P) < 0.25, _u(rng, 0.03, 0.12, P), _u(rng, 0.003, 0.02, P))
        * np.where(exp, 1.8, 1.0),
        dash_rate=_u(rng, 0.003, 0.03, P) * np.where(agg, 2.0, 1.0),
        ping_rate=_u(rng, 0.005, 0.04, P) * np.where(exp | sup, 1.8, 1.0),
        emote_rate=np.where(rng.random(P) < 0.3, _u(rng, 0.02, 0.06, P), _u(rng, 0.003, 0.012, P)),
        lock_rate=_u(rng, 0.05, 0.8, P),
        mash=_u(rng, 0.01, 0.06, P),
        block_rate=_u(rng, 0.05, 0.3, P) * np.where(dfn, 2.5, 1.0),
        interact_rate=_u(rng, 0.2, 0.9, P) * np.where(exp | dfn, 1.0, 0.6),
        ability_eager=_u(rng, 0.5, 1.5, P),
        analog=_u(rng, 0.0, 0.6, P),
        stick_noise=_u(rng, 0.02, 0.12, P),
        strafe_amp=_u(rng, 0.0, 1.0, P) * np.where(agg | snp, 1.3, 1.0),
        strafe_period=_u(rng, 8, 30, P),
        pref_dist=np.select(
            [agg, dfn, sup, exp, snp],
            [_u(rng, 1.5, 3.5, P), _u(rng, 4.5, 7, P), _u(rng, 5, 8, P), _u(rng, 3, 6, P), _u(rng, 8.5, 11.5, P)],
        ),
        retreat_hp=np.select([agg, dfn], [_u(rng, 0.1, 0.25, P), _u(rng, 0.3, 0.5, P)], _u(rng, 0.2, 0.4, P)),
        look_pitch=np.where(rng.random(P) < 0.4, 0.0, _u(rng, -0.4, 0.6, P)),
        glance_rate=_u(rng, 0.005, 0.05, P),
        lane=lane,
    )


def sample_match(rng: np.random.Generator, map_id: int | None = None, personas: np.ndarray | None = None) -> dict:
    """Map, personas, classes and styles of one match."""
    m = int(rng.integers(arena_maps.N_MAPS)) if map_id is None else int(map_id)
    pers = rng.integers(len(PERSONAS), size=rules.N_PLAYERS) if personas is None else np.asarray(personas)
    cum = np.cumsum(CLASS_BIAS[pers], 1)
    cls = (rng.random(rules.N_PLAYERS)[:, None] > cum).sum(1).clip(0, rules.N_CLASSES - 1)
    return {"map_id": m, "personas": pers, "classes": cls, "styles": sample_styles(rng, pers)}


def _wrap(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


def _norm(v):
    n = np.sqrt((v * v).sum(-1, keepdims=True))
    return v / np.maximum(n, 1e-6), n[..., 0]


class Bots:
    """Chooses every player's controller input for B matches at once."""

    def __init__(self, game: rules.Game, styles: list[dict], rngs: list[np.random.Generator]):
        self.g = game
        self.rngs = rngs
        B, P = game.B, rules.N_PLAYERS
        self.s = Styles(**{f.name: np.stack([st[f.name] for st in styles]) for f in fields(Styles)})
        S = arena_maps.stacked_maps()
        self.nav_next = S["nav_next"]  # [maps,576,576]
        self.map_b = game.map_id[:, None]
        self.nav_c = S["nav_centers"]
        team = rules.TEAM[None, :]
        routes = S["routes"][game.map_id]  # [B,3,6,2]
        lane_pts = routes[np.arange(B)[:, None], self.s.lane]  # [B,P,6,2]
        lane_pts = np.where(team[..., None, None] == 1, arena_maps.MAP_SIZE - lane_pts, lane_pts)
        z = game.zones  # [B,3,2]
        own_z = np.where(team[..., None] == 0, z[:, None, 1], z[:, None, 2])
        enemy_z = np.where(team[..., None] == 0, z[:, None, 2], z[:, None, 1])
        pk = game.pickups  # [B,6,2]
        own_pk = np.where(team[..., None, None] == 0, pk[:, None, :3], pk[:, None, 3:])
        en_pk = np.where(team[..., None, None] == 0, pk[:, None, 3:], pk[:, None, :3])
        centre = np.broadcast_to(z[:, None, 0], (B, P, 2))
        self.cands = np.concatenate(
            [lane_pts, centre[:, :, None], own_z[:, :, None], enemy_z[:, :, None], own_pk, en_pk], 2
        ).astype(np.float32)  # [B,P,15,2]
        w = ROAM_WEIGHTS[self.s.persona]
        self.cand_cum = np.cumsum(w / w.sum(-1, keepdims=True), -1)
        self.hist_pos = np.repeat(game.pos[None], HIST, 0)
        self.hist_alive = np.repeat(game.alive[None], HIST, 0)
        self.goal = game.pos.copy()
        self.goal_t = np.zeros((B, P), np.int64)
        self.target = np.full((B, P), -1, np.int64)
        self.aim_bias = np.zeros((B, P), np.float32)
        self.move_bias = np.zeros((B, P), np.float32)
        self.hold = np.zeros((B, P, 12), np.int64)
        self.phase = np.zeros((B, P), np.float32)
        self.glance = np.zeros((B, P), np.float32)
        self.glance_t = np.zeros((B, P), np.int64)
        self.stuck = np.zeros((B, P), np.int64)
        self.stuck_dir = np.zeros((B, P), np.float32)
        self.last_pos = game.pos.copy()
        self.still = np.zeros((B, P), np.int64)
        self.digital_t = np.ones((B, P), np.int64)
        self.hurt_t = np.zeros((B, P), np.int64)
        self.kill_t = np.zeros((B, P), np.int64)

    def _draw(self):
        U = np.stack([g.random((rules.N_PLAYERS, N_UNIFORM), dtype=np.float32) for g in self.rngs])
        Z = np.stack([g.standard_normal((rules.N_PLAYERS, N_NORMAL), dtype=np.float32) for g in self.rngs])
        return U, Z

    def act(self) -> np.ndarray:
        g, s = self.g, self.s
        B, P = g.B, rules.N_PLAYERS
        U, Z = self._draw()
        u = iter(range(N_UNIFORM))
        nu = lambda: U[..., next(u)]  # noqa: E731  (a fresh uniform [B,P] each call)
        bidx = np.arange(B)[:, None]
        pidx = np.arange(P)[None, :]
        alive = g.alive
        team = rules.TEAM[None, :]

        # -- perception: the others as they were `delay` steps ago ------------------------------
        slot = g.t % HIST
        self.hist_pos[slot] = g.pos
        self.hist_alive[slot] = g.alive
        seen_slot = (g.t - s.delay) % HIST  # [B,P]
        prev_slot = (g.t - s.delay - 1) % HIST
        b3, j3 = bidx[:, :, None], np.arange(P)[None, None, :]
        o_pos = self.hist_pos[seen_slot[:, :, None], b3, j3]  # [B,i,j,2]
        o_prev = self.hist_pos[prev_slot[:, :, None], b3, j3]
        o_alive = self.hist_alive[seen_slot[:, :, None], b3, j3] & g.alive[:, None, :]
        d = o_pos - g.pos[:, :, None, :]
        dist = np.sqrt((d * d).sum(-1))
        enemy = team[..., None] != team[:, None, :]
        # line of sight: walls (not cover) between the two
        fr = np.array([0.2, 0.4, 0.6, 0.8], np.float32)
        pts = g.pos[:, :, None, None, :] + d[:, :, :, None, :] * fr[None, None, None, :, None]
        ix = np.clip(pts[..., 0].astype(np.int64), 0, arena_maps.MAP_SIZE - 1)
        iy = np.clip(pts[..., 1].astype(np.int64), 0, arena_maps.MAP_SIZE - 1)
        los = ~(g.tiles[bidx[:, :, None, None], iy, ix] == arena_maps.WALL).any(-1)
        vis = enemy & o_alive & los & (dist < SIGHT[s.persona][..., None]) & alive[..., None]
        has_t_before = self.target >= 0
        cost = np.where(vis, dist, np.inf)
        keep = vis[bidx, pidx, np.maximum(self.target, 0)] & has_t_before
        cost[bidx, pidx, np.maximum(self.target, 0)] -= np.where(keep, 3.0, 0.0)
        tgt = cost.argmin(-1)
        has_t = np.isfinite(cost.min(-1))
        acquired = has_t & ((tgt != self.target) | ~has_t_before)
        self.target = np.where(has_t, tgt, -1)
        t_pos = o_pos[bidx, pidx, tgt]
        t_vel = t_pos - o_prev[bidx, pidx, tgt]
        t_dist = dist[bidx, pidx, tgt]
        n_threat = (vis & (dist < 7)).sum(-1)

        # -- mode: retreat / fight / roam -------------------------------------------------------
        hpf = g.hp / g.max_hp
        self.hurt_t = np.where(g.dmg_in > 0, 15, np.maximum(self.hurt_t - 1, 0))
        self.kill_t = np.where(g.got_kill, 10, np.maximum(self.kill_t - 1, 0))
        retreat = alive & (hpf < s.retreat_hp) & (has_t | (self.hurt_t > 0))
        engage_r = ENGAGE_RANGE[s.persona]
        fight = alive & has_t & ~retreat & (t_dist < engage_r)
        # defensive players only leave home for enemies close to them
        fight &= ~((s.persona == DEFENSIVE) & (t_dist > 6) & (n_threat == 0) & (nu() < 0.5))

        # -- goals --------------------------------------------------------------------------------
        new_goal = alive & ((self.goal_t <= 0) | (np.sqrt(((self.goal - g.pos) ** 2).sum(-1)) < 1.5) | g.died)
        pick = (nu()[..., None] > self.cand_cum).sum(-1).clip(0, self.cands.shape[2] - 1)
        cand = self.cands[bidx, pidx, pick] + Z[..., 0:2] * 1.2
        self.goal = np.where(new_goal[..., None], cand, self.goal)
        self.goal_t = np.where(new_goal, 40 + (nu() * 100).astype(np.int64), self.goal_t - 1)
        goal = self.goal.copy()
        # support: stay behind the most hurt living teammate
        # (only non-support mates: supports following each other would never leave spawn)
        mate = (
            (team[..., None] == team[:, None, :])
            & (pidx[..., None] != pidx[:, None, :])
            & g.alive[:, None, :]
            & (s.persona != SUPPORT)[:, None, :]
        )
        mate_hp = np.where(mate, (g.hp / g.max_hp)[:, None, :], np.inf)
        m_j = mate_hp.argmin(-1)
        has_mate = np.isfinite(mate_hp.min(-1))
        follow = (s.persona == SUPPORT) & has_mate
        m_pos = g.pos[bidx, m_j]
        m_fwd = np.stack([np.cos(g.facing[bidx, m_j]), np.sin(g.facing[bidx, m_j])], -1)
        goal = np.where(follow[..., None], m_pos - 2.0 * m_fwd, goal)
        # retreat: nearest available health pickup, else home
        dp = g.pickups[:, None] - g.pos[:, :, None]
        dpk = np.where((g.pickup_t == 0)[:, None], (dp * dp).sum(-1), np.inf)
        near_pk = dpk.argmin(-1)
        heal_at = g.pickups[bidx, near_pk]
        home = g.spawn_pos
        goal = np.where(retreat[..., None], np.where((dpk.min(-1) < 225)[..., None], heal_at, home), goal)
        # fight: hold the preferred distance from the target, strafing
        self.phase += (2 * np.pi / s.strafe_period).astype(np.float32)
        to_t, _ = _norm(t_pos - g.pos)
        side = np.stack([-to_t[..., 1], to_t[..., 0]], -1)
        fgoal = t_pos - to_t * s.pref_dist[..., None] + side * (np.sin(self.phase) * s.strafe_amp * 3)[..., None]
        goal = np.where(fight[..., None], fgoal, goal)

        # -- navigation ---------------------------------------------------------------------------
        gn = arena_maps.MAP_SIZE // arena_maps.NAV_CELL

        def cell(p):
            return (
                np.clip(p[..., 1] // arena_maps.NAV_CELL, 0, gn - 1) * gn
                + np.clip(p[..., 0] // arena_maps.NAV_CELL, 0, gn - 1)
            ).astype(np.int64)

        c_here, c_goal = cell(g.pos), cell(goal)
        nxt = self.nav_next[self.map_b, c_goal, c_here]
        way = np.where(((nxt >= 0) & (nxt != c_here))[..., None], self.nav_c[np.maximum(nxt, 0)], goal)
        mdir, gdist = _norm(way - g.pos)
        _, to_goal = _norm(goal - g.pos)
        # wander noise on the heading (slowly varying)
        self.move_bias = 0.9 * self.move_bias + 0.25 * Z[..., 2]
        ang = np.arctan2(mdir[..., 1], mdir[..., 0]) + self.move_bias * 0.5
        # stuck: pushing but not moving -> pick a random direction for a while and jump
        moved = np.sqrt(((g.pos - self.last_pos) ** 2).sum(-1))
        self.last_pos = g.pos.copy()
        self.still = np.where(alive & (moved < 0.05) & (to_goal > 1.0), self.still + 1, 0)
        start_stuck = self.still > 6
        self.stuck = np.where(start_stuck, 8, np.maximum(self.stuck - 1, 0))
        self.stuck_dir = np.where(start_stuck, nu() * 2 * np.pi, self.stuck_dir)
        self.still = np.where(start_stuck, 0, self.still)
        ang = np.where(self.stuck > 0, self.stuck_dir, ang)
        want_move = alive & ((to_goal > 0.8) | (self.stuck > 0))
        # analog phases (partial deflection) and digital phases (8-way, full) last a while
        flip = nu() < 0.05
        self.digital_t = np.where(flip, (nu() > s.analog).astype(np.int64), self.digital_t)
        speed = np.where(self.digital_t > 0, 1.0, 0.4 + 0.6 * nu())
        speed = np.where(want_move, speed, 0.0)
        idle_wiggle = ~want_move & (nu() < 0.1)  # humans rarely rest the stick perfectly
        wdir = np.stack([np.cos(ang), np.sin(ang)], -1) * speed[..., None]

        # -- camera -------------------------------------------------------------------------------
        lead = np.clip(t_dist / rules.C_PSPEED[g.cls], 0, 12)[..., None]
        aim_pt = t_pos + t_vel * lead * 0.7
        self.aim_bias = 0.85 * self.aim_bias + 0.53 * s.aim_noise * Z[..., 3]
        start_glance = alive & ~fight & (nu() < s.glance_rate)
        self.glance = np.where(start_glance, Z[..., 4] * 1.2, self.glance)
        self.glance_t = np.where(start_glance, 5 + (nu() * 10).astype(np.int64), np.maximum(self.glance_t - 1, 0))
        move_ang = np.arctan2(wdir[..., 1], wdir[..., 0])
        look = np.where(want_move, move_ang, g.facing) + np.where(self.glance_t > 0, self.glance, 0)
        aim_ang = np.arctan2(aim_pt[..., 1] - g.pos[..., 1], aim_pt[..., 0] - g.pos[..., 0])
        desired = np.where(fight | (retreat & has_t & (nu() < 0.3)), aim_ang + self.aim_bias, look)
        err = _wrap(desired - g.facing)
        rx = np.clip(err * s.turn_gain / rules.TURN_MAX, -1, 1)
        rx = np.where(np.abs(err) < s.dead_zone, 0.0, rx)
        rx = np.where(alive, rx + s.stick_noise * 0.5 * Z[..., 5], np.where(nu() < 0.15, nu() * 2 - 1, 0.0))
        ry_fight = 2 * np.clip((t_dist - 3.0) / 7.0, 0, 1) - 1
        ry = np.where(fight, ry_fight, s.look_pitch) + np.where(nu() < 0.1, (nu() - 0.5) * 0.6, 0.0)
        ry = np.where(alive, ry, 0.0)
        turn_after = g.facing + np.clip(rx, -1, 1) * rules.TURN_MAX
        err_after = np.abs(_wrap(desired - turn_after))

        # -- left stick: the world direction, expressed in the camera frame -----------------------
        f = np.stack([np.cos(turn_after), np.sin(turn_after)], -1)
        r = np.stack([-f[..., 1], f[..., 0]], -1)
        lx = (wdir * r).sum(-1)
        ly = (wdir * f).sum(-1)
        jit = s.stick_noise * (nu() - 0.5) * 2
        lx = np.where(want_move, lx + jit, np.where(idle_wiggle, (nu() - 0.5) * 0.8, 0.0))
        ly = np.where(want_move, ly + jit * 0.5, np.where(idle_wiggle, (nu() - 0.5) * 0.8, 0.0))
        # digital-style players push the stick to one of 8 directions at full deflection
        digital = want_move & (self.digital_t > 0)
        snap = np.round(np.arctan2(ly, lx) / (np.pi / 4)) * (np.pi / 4)
        lx = np.where(digital, np.cos(snap), lx)
        ly = np.where(digital, np.sin(snap), ly)
        lx = np.where(alive, lx, 0.0)
        ly = np.where(alive, ly, 0.0)

        # -- buttons --------------------------------------------------------------------------------
        press = np.zeros((B, P, 12), bool)
        in_range = t_dist < rules.C_RANGE[g.cls] * 1.1
        lined_up = err_after < 0.3
        press[..., rules.B_ATTACK] = (fight & in_range & lined_up & (nu() < s.fire_prob)) | (alive & (nu() < s.spam))
        press[..., rules.B_HEAVY] = (
            fight
            & (t_dist < rules.C_RANGE[g.cls] * 0.7)
            & lined_up
            & (g.cd_heavy == 0)
            & (nu() < 0.4 * s.ability_eager)
        )
        hurt_mate = (
            (np.sqrt((((g.pos[:, :, None] - g.pos[:, None, :]) ** 2).sum(-1))) < rules.HEAL_RADIUS)
            & (team[..., None] == team[:, None, :])
            & (hpf[:, None, :] < 0.6)
            & g.alive[:, None, :]
        ).any(-1)
        ab1_want = np.select(
            [g.cls == rules.STRIKER, g.cls == rules.RANGER, g.cls == rules.TANK, g.cls == rules.MEDIC],
            [
                fight & (t_dist > 2.5) & (t_dist < 6) & lined_up,
                fight & (t_dist > 4) & lined_up,
                (self.hurt_t > 10) | (fight & (t_dist < 5)),
                hurt_mate,
            ],
        )
        ab1_p = np.select([g.cls == rules.MEDIC, g.cls == rules.TANK], [0.4, 0.25], 0.2) * s.ability_eager
        press[..., rules.B_AB1] = alive & ab1_want & (g.cd_ab1 == 0) & (nu() < ab1_p)
        press[..., rules.B_AB2] = (
            fight & (t_dist > 2.5) & (t_dist < 11) & (g.cd_ab2 == 0) & lined_up & (nu() < 0.25 * s.ability_eager)
        )
        press[..., rules.B_ULT] = fight & (g.ult >= 1) & (n_threat > 0) & (
            nu() < np.where(s.persona == AGGRESSIVE, 0.5, 0.2)
        ) | (alive & (nu() < 0.004))  # and the odd accidental press
        # mashing: in a fight people press abilities whether or not they are ready
        mash = fight & (nu() < s.mash)
        which = (nu() * 4).astype(np.int64)
        for k, bt in enumerate((rules.B_HEAVY, rules.B_AB1, rules.B_AB2, rules.B_ULT)):
            press[..., bt] |= mash & (which == k)
        press[..., rules.B_DASH] = alive & (
            (retreat & (nu() < 0.15))
            | (fight & (t_dist > 4) & (s.persona == AGGRESSIVE) & (nu() < 0.08))
            | (nu() < s.dash_rate)
        )
        ahead = g.pos + mdir * 0.9
        cover_ahead = g.tile_at(bidx, ahead) == arena_maps.COVER
        press[..., rules.B_JUMP] = (
            alive & ((self.stuck > 6) | (cover_ahead & want_move & (nu() < 0.7)) | (nu() < s.jump_rate))
        ) | (~alive & (nu() < s.jump_rate * 0.5))
        block_start = fight & (hpf < 0.5) & (self.hurt_t > 8) & (nu() < s.block_rate)
        press[..., rules.B_BLOCK] = block_start | (alive & (nu() < 0.004))
        dz = g.pos[:, :, None] - g.zones[:, None]
        in_zone = (dz * dz).sum(-1) < arena_maps.ZONE_RADIUS**2
        own_ctrl = g.zone_ctrl[:, None, :] * np.where(rules.TEAM == 0, 1.0, -1.0)[None, :, None]  # [B,P,3]
        contest = (in_zone & (own_ctrl < 1)).any(-1)
        press[..., rules.B_INTERACT] = alive & contest & (nu() < s.interact_rate)
        press[..., rules.B_LOCK] = (
            (acquired & (nu() < s.lock_rate)) | (fight & (nu() < s.lock_rate * 0.06)) | (alive & (nu() < 0.003))
        )
        press[..., rules.B_PING] = alive & ((acquired & (nu() < s.ping_rate * 6)) | (nu() < s.ping_rate * 0.5))
        press[..., rules.B_EMOTE] = alive & (((self.kill_t > 0) & (nu() < 0.3)) | (nu() < s.emote_rate * 0.5))
        # holding: a press lasts a few frames (trigger held, block held, interact held)
        hold_len = np.ones((B, P, 12), np.int64)
        hold_len[..., rules.B_ATTACK] = s.fire_hold
        hold_len[..., rules.B_BLOCK] = 3 + (nu() * 6).astype(np.int64)
        hold_len[..., rules.B_INTERACT] = 4
        hold_len[..., rules.B_JUMP] = np.where(nu() < 0.3, 2, 1)
        hold_len[..., rules.B_EMOTE] = 2
        hold_len[..., rules.B_HEAVY] = 2
        hold_len[..., rules.B_AB1] = 2
        hold_len[..., rules.B_AB2] = 2
        hold_len[..., rules.B_ULT] = 2
        self.hold = np.where(press, hold_len, np.maximum(self.hold - 1, 0))
        self.hold = np.where(alive[..., None] | (np.arange(12) == rules.B_JUMP), self.hold, 0)
        buttons = (self.hold > 0).astype(np.uint8)

        act = np.empty((B, P, 16), np.uint8)
        act[..., :12] = buttons
        act[..., rules.A_MOVE_X] = rules.axis_bucket(lx)
        act[..., rules.A_MOVE_Y] = rules.axis_bucket(ly)
        act[..., rules.A_AIM_X] = rules.axis_bucket(rx)
        act[..., rules.A_AIM_Y] = rules.axis_bucket(ry)
        return act
