"""Egocentric RGB views of every player, rendered for all matches at once with numpy.

How it stays fast: each map is pre-drawn once as an image of palette indices (1 byte per pixel)
at the view's pixel scale. A player's view is a rotated crop of that image: for each of 128 camera
angles the per-pixel offsets are precomputed, so cropping is one add and one gather. Sprites
(players, projectiles, pickups, bars, effects) are stamped into the index image as small offset
masks, all players at once. Colours are applied last, from a palette chosen per viewer: the map's
theme, team colours relative to the viewer (allies blue, enemies red, oneself yellow), who owns
each capture zone, and grey while dead.

The camera faces up along the player's aim; the aim stick's y axis pushes the camera ahead of the
player. The view spans 16 world units at any image size.
"""

from __future__ import annotations

import functools

import numpy as np

from . import game as rules
from . import maps as arena_maps

VIEW_UNITS = 16.0
ANGLE_BINS = 128

# ---- palette indices ------------------------------------------------------------------------
OOB, FLOOR_A, FLOOR_B, DECO, WALL, WALL_EDGE, COVER, COVER_EDGE, HAZARD, HAZARD_B = range(10)
ZONE_FILL, ZONE_RING, SPAWN = 10, 13, 16  # + zone index / + team
SELF, ALLY, ENEMY, NOSE, FLASH, SHADOW = range(32, 38)
CLASS_MARK = 38  # + class id (4)
HP_GOOD, HP_BAD = 42, 43
PROJ_SELF, PROJ_ALLY, PROJ_ENEMY, BOMB, BOMB_CORE = range(44, 49)
PICKUP, PICKUP_BG, SHIELD_RING, BLOCK_RING, PING, EMOTE, EXPLOSION, HEAL = range(49, 57)
HUD_BG, HUD_HP, HUD_HP_BG, HUD_COOL, TIMER, RESPAWN_BAR = range(57, 63)
HUD_READY = 63  # + slot (dash, heavy, ability1, ability2, ult)
SCORE_ALLY, SCORE_ENEMY = 68, 69

_THEMES = {  # floor a, floor b, decoration, wall, wall edge, cover, cover edge, hazard, hazard ripple
    "garden": [
        (78, 128, 62),
        (86, 138, 68),
        (160, 150, 70),
        (118, 118, 128),
        (72, 72, 84),
        (34, 88, 40),
        (20, 60, 26),
        (48, 98, 176),
        (80, 130, 200),
    ],
    "canyon": [
        (196, 160, 108),
        (186, 150, 100),
        (150, 118, 80),
        (128, 74, 44),
        (86, 46, 26),
        (156, 122, 92),
        (120, 90, 64),
        (214, 96, 24),
        (240, 150, 40),
    ],
    "fortress": [
        (132, 132, 136),
        (122, 122, 126),
        (100, 100, 104),
        (74, 64, 64),
        (44, 38, 38),
        (146, 104, 56),
        (110, 74, 34),
        (96, 64, 126),
        (126, 94, 156),
    ],
    "islands": [
        (204, 192, 142),
        (196, 184, 134),
        (170, 160, 110),
        (42, 104, 44),
        (26, 70, 28),
        (118, 110, 100),
        (90, 84, 76),
        (28, 72, 152),
        (50, 100, 180),
    ],
    "maze": [
        (44, 48, 64),
        (50, 54, 72),
        (70, 76, 100),
        (96, 106, 148),
        (150, 170, 250),
        (74, 74, 104),
        (110, 110, 150),
        (20, 150, 130),
        (50, 190, 170),
    ],
    "pit": [
        (76, 56, 54),
        (84, 62, 60),
        (110, 80, 70),
        (36, 30, 30),
        (20, 16, 16),
        (106, 84, 72),
        (76, 60, 52),
        (240, 110, 10),
        (255, 170, 40),
    ],
    "docks": [
        (142, 102, 62),
        (132, 94, 56),
        (112, 80, 46),
        (60, 92, 114),
        (36, 60, 78),
        (172, 64, 42),
        (120, 40, 26),
        (30, 62, 112),
        (50, 90, 140),
    ],
}
_SPRITE_COLOURS = {
    SELF: (255, 222, 40),
    ALLY: (60, 130, 255),
    ENEMY: (232, 40, 40),
    NOSE: (250, 250, 250),
    FLASH: (255, 255, 255),
    SHADOW: (20, 20, 20),
    CLASS_MARK + 0: (255, 150, 0),
    CLASS_MARK + 1: (40, 210, 90),
    CLASS_MARK + 2: (30, 30, 30),
    CLASS_MARK + 3: (255, 130, 210),
    HP_GOOD: (70, 230, 70),
    HP_BAD: (110, 16, 16),
    PROJ_SELF: (255, 255, 140),
    PROJ_ALLY: (140, 232, 255),
    PROJ_ENEMY: (255, 60, 200),
    BOMB: (16, 16, 16),
    BOMB_CORE: (255, 80, 40),
    PICKUP: (40, 255, 120),
    PICKUP_BG: (245, 245, 245),
    SHIELD_RING: (80, 255, 255),
    BLOCK_RING: (200, 200, 200),
    PING: (255, 0, 255),
    EMOTE: (255, 255, 0),
    EXPLOSION: (255, 170, 40),
    HEAL: (150, 255, 160),
    HUD_BG: (16, 16, 20),
    HUD_HP: (60, 220, 60),
    HUD_HP_BG: (90, 10, 10),
    HUD_COOL: (70, 70, 76),
    TIMER: (235, 235, 235),
    RESPAWN_BAR: (255, 255, 255),
    HUD_READY + 0: (120, 200, 255),
    HUD_READY + 1: (255, 140, 0),
    HUD_READY + 2: (40, 230, 120),
    HUD_READY + 3: (190, 170, 255),
    HUD_READY + 4: (255, 215, 0),
    SCORE_ALLY: (60, 130, 255),
    SCORE_ENEMY: (232, 40, 40),
}
_ZONE_RING_COLOURS = {0: (215, 215, 215), 1: (60, 130, 255), 2: (232, 40, 40)}  # neutral, ally, enemy


def _blend(a, b, t):
    return tuple(int(round((1 - t) * x + t * y)) for x, y in zip(a, b))


@functools.lru_cache(maxsize=None)
def palettes() -> np.ndarray:
    """uint32 [maps * 27 zone states * 2 viewer teams * 2 alive/dead, 256] packed RGBA."""
    out = np.zeros((arena_maps.N_MAPS, 27, 2, 2, 256, 4), np.uint8)
    out[..., 3] = 255
    for m, name in enumerate(arena_maps.MAP_NAMES):
        theme = _THEMES[name]
        base = np.zeros((256, 3), np.int64)
        base[OOB] = (8, 8, 12)
        for i, c in enumerate(theme):
            base[FLOOR_A + i] = c
        for idx, c in _SPRITE_COLOURS.items():
            base[idx] = c
        for zs in range(27):
            states = (zs // 9, (zs // 3) % 3, zs % 3)
            for team in range(2):
                pal = base.copy()
                for z, st in enumerate(states):
                    ring = _ZONE_RING_COLOURS[st]
                    pal[ZONE_FILL + z] = _blend(theme[0], ring if st else (255, 255, 255), 0.30 if st else 0.15)
                    pal[ZONE_RING + z] = ring
                pal[SPAWN + team] = _blend(theme[0], (60, 130, 255), 0.6)
                pal[SPAWN + 1 - team] = _blend(theme[0], (232, 40, 40), 0.6)
                out[m, zs, team, 0, :, :3] = pal
                grey = (pal @ np.array([0.30, 0.59, 0.11])) * 0.55
                out[m, zs, team, 1, :, :3] = np.repeat(grey[:, None], 3, 1).astype(np.uint8)
                out[m, zs, team, 1, RESPAWN_BAR, :3] = 255
    return out.reshape(-1, 256, 4).view(np.uint32)[..., 0].reshape(-1)


def palette_id(map_id, zone_states, team, dead):
    """Row of the palette table for each viewer (zone_states [...,3] in 0 neutral/1 ally/2 enemy)."""
    zs = zone_states[..., 0] * 9 + zone_states[..., 1] * 3 + zone_states[..., 2]
    return ((map_id * 27 + zs) * 2 + team) * 2 + dead


def _disc_offsets(r: float) -> tuple[np.ndarray, np.ndarray]:
    k = int(np.ceil(r))
    di, dj = np.mgrid[-k : k + 1, -k : k + 1]
    m = di**2 + dj**2 <= r * r
    return di[m], dj[m]


def _ring_offsets(r: float, width: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    k = int(np.ceil(r))
    di, dj = np.mgrid[-k : k + 1, -k : k + 1]
    d = np.sqrt(di**2 + dj**2)
    m = (d <= r) & (d > r - width)
    return di[m], dj[m]


def _square(n: int) -> tuple[np.ndarray, np.ndarray]:
    di, dj = np.mgrid[0:n, 0:n]
    o = (n - 1) // 2
    return di.ravel() - o, dj.ravel() - o


class Renderer:
    """Renders every player's view of a Game. Built once per image size (backgrounds cached)."""

    def __init__(self, size: int = 64):
        if size < 16 or size > 512:
            raise ValueError(f"image size must be in 16..512, got {size}")
        self.S = S = int(size)
        self.ppu = ppu = S / VIEW_UNITS
        self.pad = pad = int(np.ceil(S / 2 * 1.42 + rules.LOOK_AHEAD * ppu + 4))
        self.W = W = int(np.ceil(arena_maps.MAP_SIZE * ppu)) + 2 * pad
        self.bg = np.concatenate([self._background(m) for m in range(arena_maps.N_MAPS)])  # uint8 [7*W*W]
        # per-angle flat offsets of every screen pixel into the background image
        j, i = np.meshgrid(np.arange(S) + 0.5 - S / 2, np.arange(S) + 0.5 - S / 2)
        th = np.arange(ANGLE_BINS) * (2 * np.pi / ANGLE_BINS)
        c, s = np.cos(th)[:, None, None], np.sin(th)[:, None, None]
        dx = np.floor(-j * s - i * c + 0.5).astype(np.int32)
        dy = np.floor(j * c - i * s + 0.5).astype(np.int32)
        self.offsets = (dy * W + dx).reshape(ANGLE_BINS, S * S).astype(np.int32)
        self.cos_q, self.sin_q = np.cos(th).astype(np.float32), np.sin(th).astype(np.float32)
        # the palette as 3-byte items: one take() then yields contiguous RGB (no RGBA->RGB copy)
        self.pal_rgb = np.ascontiguousarray(palettes().view(np.uint8).reshape(-1, 4)[:, :3]).view("V3").reshape(-1)
        k = ppu / 4.0  # sprite scale: 1 at 64x64
        self.r_player = max(1.6, 0.6 * ppu)
        self.m_player = _disc_offsets(self.r_player)
        self.m_mark = _disc_offsets(max(0.5, 0.25 * ppu))
        self.m_ring = _ring_offsets(self.r_player + max(1.0, k), max(1.0, k))
        self.m_proj = _square(max(2, int(round(2 * k))))
        self.m_heavy = _disc_offsets(max(1.5, 1.5 * k))
        self.m_bomb = _disc_offsets(max(1.5, 1.6 * k))
        self.m_pick_bg = _square(max(3, int(round(3 * k)) | 1))
        pk = max(1, int(round(k)))
        self.m_pick = (
            np.array([0] * (2 * pk + 1) + list(range(-pk, pk + 1))),
            np.array(list(range(-pk, pk + 1)) + [0] * (2 * pk + 1)),
        )
        self.m_explo = _ring_offsets(rules.BOMB_RADIUS * ppu, max(1.0, k))
        self.m_heal = _ring_offsets(rules.HEAL_RADIUS * ppu * 0.6, max(1.0, k))
        self.m_ping = (np.array([-1, 0, 0, 1, 0]) * pk, np.array([0, -1, 1, 0, 0]) * pk)
        self.m_emote = _ring_offsets(self.r_player + 2.5 * k, 1.0)
        self.m_emote = (self.m_emote[0][::2], self.m_emote[1][::2])
        self.bar_w = int(2 * np.ceil(self.r_player) + 1)
        self.bar_h = max(1, int(round(k)))
        self.hud_h = max(3, int(round(S / 16)))

    # ---- background -----------------------------------------------------------------------------
    def _background(self, map_id: int) -> np.ndarray:
        m = arena_maps.get_map(map_id)
        W, pad, ppu = self.W, self.pad, self.ppu
        px = (np.arange(W) + 0.5 - pad) / ppu  # world coordinate of pixel centres
        wx, wy = np.meshgrid(px, px)
        inside = (wx >= 0) & (wx < arena_maps.MAP_SIZE) & (wy >= 0) & (wy < arena_maps.MAP_SIZE)
        tx = np.clip(wx.astype(np.int64), 0, arena_maps.MAP_SIZE - 1)
        ty = np.clip(wy.astype(np.int64), 0, arena_maps.MAP_SIZE - 1)
        tile = np.where(inside, m.tiles[ty, tx], 255)
        img = np.full((W, W), OOB, np.uint8)
        checker = ((np.floor(wx / 2) + np.floor(wy / 2)) % 2).astype(bool)
        img[tile == arena_maps.FLOOR] = np.where(checker, FLOOR_B, FLOOR_A)[tile == arena_maps.FLOOR]
        fracx, fracy = wx - np.floor(wx), wy - np.floor(wy)
        dot = (m.deco[ty, tx] == 1) & (np.abs(fracx - 0.5) < 0.26) & (np.abs(fracy - 0.5) < 0.26)
        img[(tile == arena_maps.FLOOR) & dot] = DECO
        for kind, body, edge in ((arena_maps.WALL, WALL, WALL_EDGE), (arena_maps.COVER, COVER, COVER_EDGE)):
            mask = tile == kind
            img[mask] = body
            nb = np.zeros_like(mask)
            nb[1:, :] |= ~mask[:-1, :]
            nb[:-1, :] |= ~mask[1:, :]
            nb[:, 1:] |= ~mask[:, :-1]
            nb[:, :-1] |= ~mask[:, 1:]
            img[mask & nb & inside] = edge
        hz = tile == arena_maps.HAZARD
        ripple = ((np.arange(W)[None, :] + 2 * np.arange(W)[:, None]) % 6) == 0
        img[hz] = np.where(ripple, HAZARD_B, HAZARD)[hz]
        walkable = (tile == arena_maps.FLOOR) | (tile == arena_maps.HAZARD)
        for team in range(2):
            for x, y in m.spawns[team]:
                d2 = (wx - x) ** 2 + (wy - y) ** 2
                pad_m = (d2 < 0.9**2) & (d2 >= (0.9 - max(1.0 / ppu, 0.25)) ** 2)  # a ring
                img[pad_m & walkable] = SPAWN + team
        ring_w = max(1.0 / ppu, 0.3)
        for z, (x, y) in enumerate(m.zones):
            d = np.sqrt((wx - x) ** 2 + (wy - y) ** 2)
            img[(d < arena_maps.ZONE_RADIUS - ring_w) & walkable] = ZONE_FILL + z
            img[(d < arena_maps.ZONE_RADIUS) & (d >= arena_maps.ZONE_RADIUS - ring_w) & walkable] = ZONE_RING + z
        return img.reshape(-1)

    # ---- transforms -----------------------------------------------------------------------------
    def _cameras(self, game: "rules.Game", viewers: np.ndarray | None):
        """Per viewer: angle bin, integer camera pixel (x, y), match index."""
        B, P = game.B, rules.N_PLAYERS
        bsel = np.repeat(np.arange(B), P) if viewers is None else viewers[:, 0]
        psel = np.tile(np.arange(P), B) if viewers is None else viewers[:, 1]
        fac = game.facing[bsel, psel]
        abin = np.rint(fac * (ANGLE_BINS / (2 * np.pi))).astype(np.int64) % ANGLE_BINS
        look = (game.pitch[bsel, psel] * rules.LOOK_AHEAD)[:, None]
        cam = game.pos[bsel, psel] + look * np.stack([np.cos(fac), np.sin(fac)], -1)
        cpx = np.floor(cam * self.ppu + self.pad).astype(np.int64)
        return bsel, psel, abin, cpx

    def _to_screen(self, ent_xy, abin, cpx):
        """World points [N, E, 2] -> screen (row, col) ints [N, E] for viewers with abin/cpx [N]."""
        rel = ent_xy * self.ppu + self.pad - cpx[:, None, :] - 0.5
        c, s = self.cos_q[abin][:, None], self.sin_q[abin][:, None]
        u = -rel[..., 0] * s + rel[..., 1] * c  # along screen right
        v = -(rel[..., 0] * c + rel[..., 1] * s)  # along screen down
        h = self.S / 2 - 0.5
        return np.rint(v + h).astype(np.int64), np.rint(u + h).astype(np.int64)

    def _dir_to_screen(self, ang, abin):
        """World angles [N, E] -> unit screen (drow, dcol)."""
        rel = ang - abin[:, None] * (2 * np.pi / ANGLE_BINS)
        return -np.cos(rel), np.sin(rel)

    def _stamp(self, buf, n, ci, cj, mask, colour) -> None:
        """Write `colour` (scalar or per-sprite array) at mask offsets around each sprite centre."""
        if len(n) == 0:
            return
        S = self.S
        rows = ci[:, None] + mask[0][None, :]
        cols = cj[:, None] + mask[1][None, :]
        ok = (rows >= 0) & (rows < S) & (cols >= 0) & (cols < S)
        flat = (n[:, None] * (S * S) + rows * S + cols)[ok]
        col = colour if np.isscalar(colour) else np.broadcast_to(np.asarray(colour)[:, None], rows.shape)[ok]
        buf[flat] = col

    # ---- the frame ------------------------------------------------------------------------------
    def render(
        self, game: "rules.Game", viewers: np.ndarray | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """RGB views uint8 [N, S, S, 3] for all B*8 players in (match, player) order, or for the
        (match, player) pairs in `viewers` [N, 2]."""
        S, W = self.S, self.W
        bsel, psel, abin, cpx = self._cameras(game, viewers)
        N = len(bsel)
        base = game.map_id[bsel] * (W * W) + cpx[:, 1] * W + cpx[:, 0]
        idx = np.add(self.offsets[abin], base[:, None], dtype=np.intp)  # intp: take() needs no cast
        buf = self.bg.take(idx).reshape(-1)  # uint8 [N*S*S]
        self._draw_world(buf, game, bsel, psel, abin, cpx)
        self._draw_hud(buf.reshape(N, S, S), game, bsel, psel)
        # colours: palette per viewer (map theme, zone owners relative to the viewer, dead = grey)
        team = rules.TEAM[psel]
        ctrl = game.zone_ctrl[bsel] * np.where(team == 0, 1.0, -1.0)[:, None]
        zstate = np.where(ctrl >= 1, 1, np.where(ctrl <= -1, 2, 0))
        pid = palette_id(game.map_id[bsel], zstate, team, (~game.alive[bsel, psel]).astype(np.int64))
        np.add(buf.reshape(N, S * S), (pid * 256)[:, None], out=idx)
        rgb = self.pal_rgb.take(idx).view(np.uint8).reshape(N, S, S, 3)
        if out is None:
            return rgb
        out[...] = rgb
        return out

    def _draw_world(self, buf, game, bsel, psel, abin, cpx) -> None:
        S = self.S
        vt = rules.TEAM[psel]

        # pickups (available ones) and effects
        pr, pc = self._to_screen(game.pickups[bsel], abin, cpx)  # [N,6]
        avail = game.pickup_t[bsel] == 0
        n, e = np.nonzero(avail & (pr > -4) & (pr < S + 4) & (pc > -4) & (pc < S + 4))
        self._stamp(buf, n, pr[n, e], pc[n, e], self.m_pick_bg, PICKUP_BG)
        self._stamp(buf, n, pr[n, e], pc[n, e], self.m_pick, PICKUP)
        fr, fc = self._to_screen(game.fx_pos[bsel], abin, cpx)
        fk = game.fx_kind[bsel]
        live = game.fx_t[bsel] > 0
        for kind, mask, col in ((rules.FX_EXPLOSION, self.m_explo, EXPLOSION), (rules.FX_HEAL, self.m_heal, HEAL)):
            n, e = np.nonzero(live & (fk == kind))
            self._stamp(buf, n, fr[n, e], fc[n, e], mask, col)

        # players
        ppos = game.pos[bsel]  # [N,P,2]
        rr, cc = self._to_screen(ppos, abin, cpx)
        alive = game.alive[bsel]
        onscreen = alive & (rr > -6) & (rr < S + 6) & (cc > -6) & (cc < S + 6)
        n, e = np.nonzero(onscreen)
        jump = game.jump_t[bsel][n, e] > 0
        lift = np.where(jump, max(1, int(round(self.ppu / 3))), 0)
        self._stamp(buf, n[jump], rr[n, e][jump] + 1, cc[n, e][jump] + 1, self.m_player, SHADOW)
        r0, c0 = rr[n, e] - lift, cc[n, e]
        is_self = e == psel[n]
        colour = np.where(is_self, SELF, np.where(rules.TEAM[e] == vt[n], ALLY, ENEMY))
        colour = np.where(game.hit_t[bsel][n, e] > 0, FLASH, colour)
        self._stamp(buf, n, r0, c0, self.m_player, colour)
        self._stamp(buf, n, r0, c0, self.m_mark, CLASS_MARK + game.cls[bsel][n, e])
        dr, dc = self._dir_to_screen(game.facing[bsel][n, e][:, None], abin[n])
        reach = self.r_player + 0.6
        self._stamp(
            buf,
            n,
            r0 + np.rint(dr[:, 0] * reach).astype(np.int64),
            c0 + np.rint(dc[:, 0] * reach).astype(np.int64),
            (np.array([0]), np.array([0])),
            NOSE,
        )
        sh = game.shield_t[bsel][n, e] > 0
        self._stamp(buf, n[sh], r0[sh], c0[sh], self.m_ring, SHIELD_RING)
        bl = game.blocking[bsel][n, e] & ~sh
        self._stamp(buf, n[bl], r0[bl], c0[bl], self.m_ring, BLOCK_RING)
        em = game.emote_t[bsel][n, e] > 0
        self._stamp(buf, n[em], r0[em], c0[em], self.m_emote, EMOTE)
        # health bars over the others; a ping marker over anyone pinging
        oth = ~is_self
        top = r0 - int(np.ceil(self.r_player)) - 1 - self.bar_h
        frac = game.hp[bsel][n, e] / game.max_hp[bsel][n, e]
        fill = np.ceil(frac * self.bar_w).astype(np.int64)
        bi, bj = np.mgrid[0 : self.bar_h, 0 : self.bar_w]
        bi, bj = bi.ravel(), bj.ravel()
        for col, cond in ((HP_GOOD, bj[None, :] < fill[:, None]), (HP_BAD, bj[None, :] >= fill[:, None])):
            rows = top[:, None] + bi[None, :]
            cols = c0[:, None] - self.bar_w // 2 + bj[None, :]
            ok = cond & oth[:, None] & (rows >= 0) & (rows < S) & (cols >= 0) & (cols < S)
            buf[(n[:, None] * S * S + rows * S + cols)[ok]] = col
        pg = game.ping_t[bsel][n, e] > 0
        self._stamp(buf, n[pg], top[pg] - 3 * self.bar_h, c0[pg], self.m_ping, PING)

        # projectiles
        act = game.p_active[bsel]
        qr, qc = self._to_screen(game.p_pos[bsel], abin, cpx)
        vis = act & (qr > -3) & (qr < S + 3) & (qc > -3) & (qc < S + 3)
        kind = game.p_kind[bsel]
        owner = game.p_owner[bsel]
        pteam = game.p_team[bsel]
        pcol = np.where(owner == psel[:, None], PROJ_SELF, np.where(pteam == vt[:, None], PROJ_ALLY, PROJ_ENEMY))
        for k, mask in ((rules.P_NORMAL, self.m_proj), (rules.P_HEAVY, self.m_heavy)):
            n, e = np.nonzero(vis & (kind == k))
            self._stamp(buf, n, qr[n, e], qc[n, e], mask, pcol[n, e])
        n, e = np.nonzero(vis & (kind == rules.P_BOMB))
        self._stamp(buf, n, qr[n, e], qc[n, e], self.m_bomb, BOMB)
        self._stamp(buf, n, qr[n, e], qc[n, e], (np.array([0]), np.array([0])), BOMB_CORE)

    def _draw_hud(self, img, game, bsel, psel) -> None:
        """Bottom strip: own health bar and 5 ability lights; top rows: score split and match clock."""
        S, h = self.S, self.hud_h
        img[:, S - h :, :] = HUD_BG
        frac = np.clip(game.hp[bsel, psel] / game.max_hp[bsel, psel], 0, 1)
        bar_w = S // 2 - 2
        cols = np.arange(bar_w)
        hp_row = np.where(cols[None, :] < np.ceil(frac * bar_w)[:, None], HUD_HP, HUD_HP_BG).astype(np.uint8)
        img[:, S - h + 1 : S - 1, 1 : 1 + bar_w] = hp_row[:, None, :]
        box = h - 2
        ready = np.stack(
            [
                game.cd_dash[bsel, psel] == 0,
                game.cd_heavy[bsel, psel] == 0,
                game.cd_ab1[bsel, psel] == 0,
                game.cd_ab2[bsel, psel] == 0,
                game.ult[bsel, psel] >= 1,
            ],
            -1,
        )  # [N,5]
        for k in range(5):
            x0 = S // 2 + 1 + k * (box + 2)
            if x0 + box > S:
                break
            col = np.where(ready[:, k], HUD_READY + k, HUD_COOL).astype(np.uint8)
            img[:, S - h + 1 : S - 1, x0 : x0 + box] = col[:, None, None]
        ult_fill = np.floor(np.clip(game.ult[bsel, psel], 0, 1) * box).astype(np.int64)
        x0 = S // 2 + 1 + 4 * (box + 2)
        if x0 + box <= S:
            rows = np.arange(box)[None, :] >= (box - ult_fill)[:, None]  # fills bottom-up
            sub = img[:, S - h + 1 : S - 1, x0 : x0 + box]
            sub[:] = np.where(rows[:, :, None] | ready[:, 4, None, None], HUD_READY + 4, HUD_COOL)
        # score split (allies left in blue) and the match clock
        team = rules.TEAM[psel]
        own = game.score[bsel, team]
        other = game.score[bsel, 1 - team]
        share = np.where(own + other > 0, own / np.maximum(own + other, 1e-6), 0.5)
        cols = np.arange(S)
        img[:, 0, :] = np.where(cols[None, :] < np.rint(share * S)[:, None], SCORE_ALLY, SCORE_ENEMY)
        tcols = int(round(game.time_frac * S))
        img[:, 1, :tcols] = TIMER
        dead = ~game.alive[bsel, psel]
        if dead.any():
            rem = game.respawn[bsel, psel] / rules.RESPAWN_STEPS
            w = np.rint(rem * (S // 2)).astype(np.int64)
            bar = (cols[None, :] >= S // 4) & (cols[None, :] < S // 4 + w[:, None]) & dead[:, None]
            mid = img[:, S // 2, :]
            mid[bar] = RESPAWN_BAR
