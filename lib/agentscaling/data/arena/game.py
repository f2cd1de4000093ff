"""The arena game: 4v4 matches on one of 7 maps, many matches stepped at once with numpy.

Rules in short (docs/arena.md has the full list): each player has a class (striker, ranger, tank,
medic) with its own speed, health, weapon range, damage and a class ability. Players move relative
to their camera (left stick), turn the camera and set how far ahead they look (right stick), fire
projectiles that walls and cover stop, throw lobbed bombs, dash, jump over low cover, block, and
capture three zones. A dead player respawns at the team spawn after 4 s. 10 decision steps per
second; a match lasts a fixed number of steps. The game itself has no randomness: all of it comes
from the players (the bots), so one seed twice gives identical matches.

Arrays are [B, P] (matches x 8 players); players 0-3 are team 0, 4-7 team 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...action_space import ACTION_NAMES, AXES, AXIS_CENTER, BUTTONS  # noqa: F401 (the controller)
from . import maps as arena_maps

HZ = 10
N_PLAYERS = 8
TEAM_SIZE = 4
TEAM = np.repeat(np.arange(2), TEAM_SIZE)  # [P] team of each player slot

# ---- controller: the paper's layout, 12 buttons then 4 stick axes of 11 buckets -------------
(B_ATTACK, B_HEAVY, B_AB1, B_AB2, B_ULT, B_DASH, B_JUMP, B_BLOCK, B_INTERACT, B_LOCK, B_PING, B_EMOTE) = range(12)
A_MOVE_X, A_MOVE_Y, A_AIM_X, A_AIM_Y = range(12, 16)


def axis_value(bucket: np.ndarray) -> np.ndarray:
    """Bucket 0..10 -> stick deflection -1..1."""
    return (bucket.astype(np.float32) - AXIS_CENTER) / AXIS_CENTER


def axis_bucket(value: np.ndarray) -> np.ndarray:
    """Stick deflection -1..1 -> bucket 0..10 (nearest)."""
    return np.clip(np.rint(value * AXIS_CENTER) + AXIS_CENTER, 0, 10).astype(np.uint8)


# ---- character classes ---------------------------------------------------------------------
@dataclass(frozen=True)
class CharacterClass:
    name: str
    speed: float  # units per step at full stick
    max_hp: float
    proj_speed: float  # units per step
    proj_range: float  # units
    damage: float
    fire_cd: int  # steps between shots
    ability: str  # what ability1 does
    ability_cd: int


CLASSES = (
    CharacterClass("striker", 0.42, 110, 1.0, 3.5, 16, 3, "lunge", 50),
    CharacterClass("ranger", 0.36, 80, 1.4, 12.0, 11, 5, "volley", 45),
    CharacterClass("tank", 0.30, 180, 0.9, 5.5, 13, 5, "shield", 80),
    CharacterClass("medic", 0.36, 100, 1.1, 8.0, 7, 4, "heal", 60),
)
N_CLASSES = len(CLASSES)
C_SPEED = np.array([c.speed for c in CLASSES], np.float32)
C_HP = np.array([c.max_hp for c in CLASSES], np.float32)
C_PSPEED = np.array([c.proj_speed for c in CLASSES], np.float32)
C_RANGE = np.array([c.proj_range for c in CLASSES], np.float32)
C_DMG = np.array([c.damage for c in CLASSES], np.float32)
C_FIRE_CD = np.array([c.fire_cd for c in CLASSES], np.int16)
C_AB_CD = np.array([c.ability_cd for c in CLASSES], np.int16)
STRIKER, RANGER, TANK, MEDIC = range(4)

# ---- tuning constants (per step) -------------------------------------------------------------
TURN_MAX = 0.30  # rad per step at full aim_x
LOOK_AHEAD = 2.5  # units the camera leads at full aim_y
DASH_STEPS, DASH_CD, DASH_MULT = 3, 25, 2.6
JUMP_STEPS, JUMP_CD = 5, 12
HEAVY_CD, HEAVY_MULT = 20, 2.5
BOMB_CD, BOMB_DMG, BOMB_RADIUS, BOMB_SPEED = 90, 45.0, 2.5, 0.8
SHIELD_STEPS, SHIELD_MULT, BLOCK_MULT = 30, 0.3, 0.4
HEAL_AMOUNT, HEAL_RADIUS = 35.0, 4.5
LUNGE_STEPS = 5
ULT_PER_STEP, ULT_PER_DMG, ULT_SHOTS = 1 / 300, 1 / 250, 12
RESPAWN_STEPS = 40
HAZARD_DPS = 1.5
PICKUP_HEAL, PICKUP_RESPAWN, PICKUP_RADIUS = 50.0, 150, 1.0
ZONE_RATE, ZONE_POINTS = 0.015, 0.02
PING_STEPS, EMOTE_STEPS, HIT_FLASH = 15, 12, 2
HIT_RADIUS = 0.45
N_PROJ = 48  # projectile slots per match (a ring buffer: the oldest is reused)
N_FX = 8  # visual effect slots per match (explosions, heal pulses)
P_NORMAL, P_HEAVY, P_BOMB = 0, 1, 2
FX_EXPLOSION, FX_HEAL = 1, 2


class Game:
    """State of B matches, stepped together. `step(actions)` takes uint8 [B, 8, 16]."""

    def __init__(self, map_ids: np.ndarray, classes: np.ndarray, episode_steps: int):
        self.B = len(map_ids)
        B, P = self.B, N_PLAYERS
        self.map_id = np.asarray(map_ids, np.int64)
        self.cls = np.asarray(classes, np.int64).reshape(B, P)
        self.episode_steps = int(episode_steps)
        S = arena_maps.stacked_maps()
        self.tiles = S["tiles"][self.map_id]  # [B,48,48]
        self.block_wall = S["block_wall"][self.map_id]
        self.block_cover = S["block_cover"][self.map_id]
        self.zones = S["zones"][self.map_id]  # [B,3,2]
        self.pickups = S["pickups"][self.map_id]  # [B,6,2]
        self.spawn_pos = S["spawns"][self.map_id].reshape(B, P, 2)
        self.b_idx = np.arange(B)[:, None]  # broadcasting helpers
        self.t = 0
        self.max_hp = C_HP[self.cls]
        self.pos = self.spawn_pos.copy()
        # face the map centre
        d = arena_maps.MAP_SIZE / 2 - self.pos
        self.facing = np.arctan2(d[..., 1], d[..., 0]).astype(np.float32)
        self.pitch = np.full((B, P), 0.3, np.float32)
        self.hp = self.max_hp.copy()
        self.alive = np.ones((B, P), bool)
        self.respawn = np.zeros((B, P), np.int16)
        z16 = lambda: np.zeros((B, P), np.int16)  # noqa: E731
        self.cd_fire, self.cd_heavy, self.cd_ab1, self.cd_ab2 = z16(), z16(), z16(), z16()
        self.cd_dash, self.cd_jump = z16(), z16()
        self.dash_t, self.jump_t, self.shield_t = z16(), z16(), z16()
        self.ping_t, self.emote_t, self.hit_t = z16(), z16(), z16()
        self.dash_dir = np.zeros((B, P, 2), np.float32)
        self.ult = np.zeros((B, P), np.float32)
        self.blocking = np.zeros((B, P), bool)
        self.last_attacker = np.tile(np.arange(P), (B, 1))  # self = nobody to credit
        self.kills = np.zeros((B, P), np.int32)
        self.deaths = np.zeros((B, P), np.int32)
        self.score = np.zeros((B, 2), np.float32)
        self.zone_ctrl = np.zeros((B, arena_maps.N_ZONES), np.float32)
        self.pickup_t = np.zeros((B, arena_maps.N_PICKUPS), np.int16)
        K = N_PROJ
        self.p_active = np.zeros((B, K), bool)
        self.p_pos = np.zeros((B, K, 2), np.float32)
        self.p_vel = np.zeros((B, K, 2), np.float32)
        self.p_ttl = np.zeros((B, K), np.int16)
        self.p_team = np.zeros((B, K), np.int64)
        self.p_owner = np.zeros((B, K), np.int64)
        self.p_dmg = np.zeros((B, K), np.float32)
        self.p_kind = np.zeros((B, K), np.int8)
        self.p_ptr = np.zeros(B, np.int64)
        self.fx_pos = np.zeros((B, N_FX, 2), np.float32)
        self.fx_t = np.zeros((B, N_FX), np.int16)
        self.fx_kind = np.zeros((B, N_FX), np.int8)
        self.fx_ptr = np.zeros(B, np.int64)
        self.dmg_out = np.zeros((B, P), np.float32)  # last step's events (bots and rewards read them)
        self.dmg_in = np.zeros((B, P), np.float32)
        self.died = np.zeros((B, P), bool)
        self.got_kill = np.zeros((B, P), bool)

    # ---- helpers ------------------------------------------------------------------------------
    def tile_at(self, b: np.ndarray, xy: np.ndarray) -> np.ndarray:
        ix = np.clip(xy[..., 0].astype(np.int64), 0, arena_maps.MAP_SIZE - 1)
        iy = np.clip(xy[..., 1].astype(np.int64), 0, arena_maps.MAP_SIZE - 1)
        return self.tiles[b, iy, ix]

    def _blocked(self, xy: np.ndarray, jumping: np.ndarray) -> np.ndarray:
        n = arena_maps.MAP_SIZE * arena_maps.COLLISION_RES - 1
        ix = np.clip((xy[..., 0] * arena_maps.COLLISION_RES).astype(np.int64), 0, n)
        iy = np.clip((xy[..., 1] * arena_maps.COLLISION_RES).astype(np.int64), 0, n)
        return self.block_wall[self.b_idx, iy, ix] | (self.block_cover[self.b_idx, iy, ix] & ~jumping)

    @property
    def time_frac(self) -> float:
        return min(self.t / max(self.episode_steps, 1), 1.0)

    def forward(self) -> np.ndarray:
        return np.stack([np.cos(self.facing), np.sin(self.facing)], -1)

    def _spawn_proj(
        self, mask: np.ndarray, pos: np.ndarray, vel: np.ndarray, ttl: np.ndarray, dmg: np.ndarray, kind: int
    ) -> None:
        """Spawn one projectile for every True in mask [B,P]; pos/vel [B,P,2], ttl/dmg [B,P]."""
        b, p = np.nonzero(mask)
        if len(b) == 0:
            return
        # rank of each request within its match -> consecutive ring-buffer slots
        counts = np.bincount(b, minlength=self.B)
        first = np.cumsum(counts) - counts
        rank = np.arange(len(b)) - first[b]
        slot = (self.p_ptr[b] + rank) % N_PROJ
        self.p_ptr = (self.p_ptr + counts) % N_PROJ
        self.p_active[b, slot] = True
        self.p_pos[b, slot] = pos[b, p]
        self.p_vel[b, slot] = vel[b, p]
        self.p_ttl[b, slot] = np.maximum(ttl[b, p], 1)
        self.p_team[b, slot] = TEAM[p]
        self.p_owner[b, slot] = p
        self.p_dmg[b, slot] = dmg[b, p]
        self.p_kind[b, slot] = kind

    def _spawn_fx(self, b: np.ndarray, pos: np.ndarray, kind: int, steps: int = 3) -> None:
        if len(b) == 0:
            return
        counts = np.bincount(b, minlength=self.B)
        first = np.cumsum(counts) - counts
        rank = np.arange(len(b)) - first[b]
        slot = (self.fx_ptr[b] + rank) % N_FX
        self.fx_ptr = (self.fx_ptr + counts) % N_FX
        self.fx_pos[b, slot] = pos
        self.fx_t[b, slot] = steps
        self.fx_kind[b, slot] = kind

    # ---- the step -----------------------------------------------------------------------------
    def step(self, actions: np.ndarray) -> None:
        B, P = self.B, N_PLAYERS
        actions = np.asarray(actions)
        alive = self.alive
        btn = actions[..., :12].astype(bool) & alive[..., None]
        stick = axis_value(actions[..., 12:])
        cls = self.cls
        self.dmg_out[:] = 0
        self.dmg_in[:] = 0

        # respawn
        self.respawn = np.maximum(self.respawn - 1, 0).astype(np.int16)
        back = ~alive & (self.respawn == 0)
        if back.any():
            self.alive = alive = alive | back
            self.hp = np.where(back, self.max_hp, self.hp)
            self.pos = np.where(back[..., None], self.spawn_pos, self.pos)

        # camera: aim_x turns, aim_y sets how far ahead the camera (and the bomb) looks
        self.facing = self.facing + stick[..., 2] * TURN_MAX
        self.facing = (self.facing + np.pi) % (2 * np.pi) - np.pi
        self.pitch += 0.5 * ((stick[..., 3] + 1) * 0.5 - self.pitch)
        if btn[..., B_LOCK].any():
            self._lock_on(btn[..., B_LOCK])
        f = self.forward()
        r = np.stack([-f[..., 1], f[..., 0]], -1)

        # movement relative to the camera
        mv = stick[..., 0:1] * r + stick[..., 1:2] * f
        norm = np.sqrt((mv * mv).sum(-1, keepdims=True))
        mv = np.where(norm > 1, mv / np.maximum(norm, 1e-6), mv)
        start_dash = btn[..., B_DASH] & (self.cd_dash == 0)
        unit = np.where(norm > 0.1, mv / np.maximum(norm, 1e-6), f)
        lunge = btn[..., B_AB1] & (self.cd_ab1 == 0) & (cls == STRIKER)
        self.dash_dir = np.where((start_dash | lunge)[..., None], np.where(lunge[..., None], f, unit), self.dash_dir)
        self.dash_t = np.where(start_dash, DASH_STEPS, np.where(lunge, LUNGE_STEPS, self.dash_t)).astype(np.int16)
        self.cd_dash = np.where(start_dash, DASH_CD, self.cd_dash).astype(np.int16)
        start_jump = btn[..., B_JUMP] & (self.cd_jump == 0)
        self.jump_t = np.where(start_jump, JUMP_STEPS, self.jump_t).astype(np.int16)
        self.cd_jump = np.where(start_jump, JUMP_CD, self.cd_jump).astype(np.int16)
        self.blocking = btn[..., B_BLOCK]
        jumping = self.jump_t > 0
        speed = C_SPEED[cls] * np.where(self.blocking, 0.5, 1.0)
        dashing = self.dash_t > 0
        vel = np.where(dashing[..., None], self.dash_dir * (C_SPEED[cls] * DASH_MULT)[..., None], mv * speed[..., None])
        vel = vel * alive[..., None]
        x, y = self.pos[..., 0], self.pos[..., 1]
        nx = x + vel[..., 0]
        nx = np.where(self._blocked(np.stack([nx, y], -1), jumping), x, nx)
        ny = y + vel[..., 1]
        ny = np.where(self._blocked(np.stack([nx, ny], -1), jumping), y, ny)
        self.pos = np.stack([nx, ny], -1).astype(np.float32)

        # weapons and abilities (not while blocking)
        can = ~self.blocking
        fire = btn[..., B_ATTACK] & can & (self.cd_fire == 0)
        muzzle = self.pos + f * 0.5
        pspeed = C_PSPEED[cls]
        ttl = np.ceil(C_RANGE[cls] / pspeed).astype(np.int16)
        self._spawn_proj(fire, muzzle, f * pspeed[..., None], ttl, C_DMG[cls], P_NORMAL)
        self.cd_fire = np.where(fire, C_FIRE_CD[cls], self.cd_fire).astype(np.int16)
        heavy = btn[..., B_HEAVY] & can & (self.cd_heavy == 0)
        self._spawn_proj(
            heavy,
            muzzle,
            f * (0.8 * pspeed)[..., None],
            (ttl * 1.25).astype(np.int16),
            C_DMG[cls] * HEAVY_MULT,
            P_HEAVY,
        )
        self.cd_heavy = np.where(heavy, HEAVY_CD, self.cd_heavy).astype(np.int16)
        ab1 = btn[..., B_AB1] & can & (self.cd_ab1 == 0)
        self._ability1(ab1, f, muzzle, pspeed, ttl)
        self.cd_ab1 = np.where(ab1, C_AB_CD[cls], self.cd_ab1).astype(np.int16)
        bomb = btn[..., B_AB2] & can & (self.cd_ab2 == 0)
        dist = 3.0 + 7.0 * self.pitch
        self._spawn_proj(
            bomb,
            muzzle,
            f * BOMB_SPEED,
            np.ceil(dist / BOMB_SPEED).astype(np.int16),
            np.full((B, P), BOMB_DMG, np.float32),
            P_BOMB,
        )
        self.cd_ab2 = np.where(bomb, BOMB_CD, self.cd_ab2).astype(np.int16)
        ult = btn[..., B_ULT] & can & (self.ult >= 1)
        if ult.any():
            for k in range(ULT_SHOTS):
                a = self.facing + k * (2 * np.pi / ULT_SHOTS)
                d = np.stack([np.cos(a), np.sin(a)], -1)
                self._spawn_proj(ult, self.pos + d * 0.5, d * pspeed[..., None], ttl, C_DMG[cls] * 1.5, P_HEAVY)
            self.ult = np.where(ult, 0, self.ult)
        self.ping_t = np.where(btn[..., B_PING], PING_STEPS, self.ping_t).astype(np.int16)
        self.emote_t = np.where(btn[..., B_EMOTE], EMOTE_STEPS, self.emote_t).astype(np.int16)

        self._projectiles()
        self._world(btn[..., B_INTERACT])
        self._damage_and_death()
        self._tick()
        self.t += 1

    def _lock_on(self, want: np.ndarray) -> None:
        d = self.pos[:, None, :, :] - self.pos[:, :, None, :]  # [B,i,j,2] from i to j
        dist = np.sqrt((d * d).sum(-1))
        enemy = (TEAM[None, :, None] != TEAM[None, None, :]) & self.alive[:, None, :]
        dist = np.where(enemy & (dist < 12.0), dist, np.inf)
        j = dist.argmin(-1)
        ok = want & np.isfinite(dist.min(-1))
        dd = np.take_along_axis(d, j[..., None, None], 2)[:, :, 0]
        self.facing = np.where(ok, np.arctan2(dd[..., 1], dd[..., 0]), self.facing).astype(np.float32)

    def _ability1(self, ab1, f, muzzle, pspeed, ttl) -> None:
        cls = self.cls
        volley = ab1 & (cls == RANGER)
        for da in (-0.2, 0.0, 0.2):
            a = self.facing + da
            d = np.stack([np.cos(a), np.sin(a)], -1)
            self._spawn_proj(volley, muzzle, d * pspeed[..., None], ttl, C_DMG[cls], P_NORMAL)
        self.shield_t = np.where(ab1 & (cls == TANK), SHIELD_STEPS, self.shield_t).astype(np.int16)
        heal = ab1 & (cls == MEDIC)
        if heal.any():
            d = self.pos[:, None, :, :] - self.pos[:, :, None, :]
            near = ((d * d).sum(-1) < HEAL_RADIUS**2) & (TEAM[:, None] == TEAM[None, :])[None]
            healed = (near & heal[:, :, None]).any(1) & self.alive
            self.hp = np.where(healed, np.minimum(self.hp + HEAL_AMOUNT, self.max_hp), self.hp)
            b, p = np.nonzero(heal)
            self._spawn_fx(b, self.pos[b, p], FX_HEAL, 3)

    def _projectiles(self) -> None:
        act = self.p_active
        if not act.any():
            return
        old = self.p_pos
        self.p_pos = new = old + self.p_vel * act[..., None]
        self.p_ttl = np.where(act, self.p_ttl - 1, 0).astype(np.int16)
        lob = self.p_kind == P_BOMB
        bidx = self.b_idx
        # walls and cover stop flat shots (sampled at the midpoint too, so nothing tunnels)
        mid = (old + new) * 0.5
        t_new = self.tile_at(bidx, new)
        t_mid = self.tile_at(bidx, mid)
        solid = (
            (t_new == arena_maps.WALL)
            | (t_new == arena_maps.COVER)
            | (t_mid == arena_maps.WALL)
            | (t_mid == arena_maps.COVER)
        )
        act = act & ~(solid & ~lob)
        # hits on enemy players (nearest one per projectile)
        d = new[:, :, None, :] - self.pos[:, None, :, :]  # [B,K,P,2]
        d2 = (d * d).sum(-1)
        enemy = (self.p_team[:, :, None] != TEAM[None, None, :]) & self.alive[:, None, :]
        rad = np.where(self.p_kind == P_HEAVY, HIT_RADIUS + 0.25, HIT_RADIUS)
        hit = enemy & (d2 < (rad**2)[..., None]) & (act & ~lob)[..., None]
        any_hit = hit.any(-1)
        if any_hit.any():
            victim = np.where(hit, d2, np.inf).argmin(-1)
            b, k = np.nonzero(any_hit)
            self._hit(b, victim[b, k], self.p_owner[b, k], self.p_dmg[b, k])
            act = act & ~any_hit
        # bombs explode when they land
        boom = act & lob & (self.p_ttl <= 0)
        if boom.any():
            inr = enemy & (d2 < BOMB_RADIUS**2) & boom[..., None]
            b, k, v = np.nonzero(inr)
            self._hit(b, v, self.p_owner[b, k], self.p_dmg[b, k])
            bb, kk = np.nonzero(boom)
            self._spawn_fx(bb, new[bb, kk], FX_EXPLOSION, 3)
        self.p_active = act & (self.p_ttl > 0)

    def _hit(self, b, victim, owner, dmg) -> None:
        mult = np.where(self.shield_t[b, victim] > 0, SHIELD_MULT, 1.0) * np.where(
            self.blocking[b, victim], BLOCK_MULT, 1.0
        )
        dmg = (dmg * mult).astype(np.float32)
        P = N_PLAYERS
        self.dmg_in += np.bincount(b * P + victim, dmg, minlength=self.B * P).reshape(self.B, P).astype(np.float32)
        self.dmg_out += np.bincount(b * P + owner, dmg, minlength=self.B * P).reshape(self.B, P).astype(np.float32)
        self.last_attacker[b, victim] = owner

    def _world(self, interact: np.ndarray) -> None:
        on_ground = self.alive & (self.jump_t == 0)
        hazard = self.tile_at(self.b_idx, self.pos) == arena_maps.HAZARD
        self.dmg_in += np.where(hazard & on_ground, HAZARD_DPS, 0).astype(np.float32)
        # health pickups
        d = self.pos[:, :, None, :] - self.pickups[:, None, :, :]  # [B,P,6,2]
        near = ((d * d).sum(-1) < PICKUP_RADIUS**2) & (self.pickup_t == 0)[:, None, :]
        near &= (self.alive & (self.hp < self.max_hp))[..., None]
        if near.any():
            self.hp = np.where(near.any(-1), np.minimum(self.hp + PICKUP_HEAL, self.max_hp), self.hp)
            self.pickup_t = np.where(near.any(1), PICKUP_RESPAWN, self.pickup_t).astype(np.int16)
        # capture zones: the team with more weight inside pushes control toward itself
        dz = self.pos[:, :, None, :] - self.zones[:, None, :, :]  # [B,P,3,2]
        inside = ((dz * dz).sum(-1) < arena_maps.ZONE_RADIUS**2) & self.alive[..., None]
        w = inside * (1.0 + interact[..., None])
        push = w[:, :TEAM_SIZE].sum(1) - w[:, TEAM_SIZE:].sum(1)
        self.zone_ctrl = np.clip(self.zone_ctrl + ZONE_RATE * push, -1, 1).astype(np.float32)
        self.score[:, 0] += ZONE_POINTS * (self.zone_ctrl >= 1).sum(-1)
        self.score[:, 1] += ZONE_POINTS * (self.zone_ctrl <= -1).sum(-1)

    def _damage_and_death(self) -> None:
        took = self.dmg_in > 0
        self.hp = np.where(self.alive, self.hp - self.dmg_in, self.hp)
        self.hit_t = np.where(took & self.alive, HIT_FLASH, self.hit_t).astype(np.int16)
        self.ult = np.minimum(self.ult + ULT_PER_STEP + self.dmg_out * ULT_PER_DMG, 1.0).astype(np.float32)
        self.died = self.alive & (self.hp <= 0)
        self.got_kill[:] = False
        if self.died.any():
            b, p = np.nonzero(self.died)
            killer = self.last_attacker[b, p]
            same = TEAM[killer] == TEAM[p]  # hazard deaths: credit nobody
            np.add.at(self.kills, (b[~same], killer[~same]), 1)
            self.got_kill[b[~same], killer[~same]] = True
            np.add.at(self.score, (b, 1 - TEAM[p]), 1.0)
            self.deaths += self.died
            self.alive = self.alive & ~self.died
            self.respawn = np.where(self.died, RESPAWN_STEPS, self.respawn).astype(np.int16)
            self.hp = np.where(self.died, 0, self.hp)
            self.dash_t = np.where(self.died, 0, self.dash_t).astype(np.int16)
            self.shield_t = np.where(self.died, 0, self.shield_t).astype(np.int16)
            self.last_attacker = np.where(self.died, np.arange(N_PLAYERS), self.last_attacker)

    def _tick(self) -> None:
        dec = lambda a: np.maximum(a - 1, 0).astype(np.int16)  # noqa: E731
        for name in (
            "cd_fire",
            "cd_heavy",
            "cd_ab1",
            "cd_ab2",
            "cd_dash",
            "cd_jump",
            "dash_t",
            "jump_t",
            "shield_t",
            "ping_t",
            "emote_t",
            "hit_t",
        ):
            setattr(self, name, dec(getattr(self, name)))
        self.pickup_t = dec(self.pickup_t)
        self.fx_t = dec(self.fx_t)
